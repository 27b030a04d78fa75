"""Request ids: the request that queued each outbox message, and room for a proxy's id (up to
128 characters) on audit events

Revision ID: j23r3q1d0001
Revises: k24p4ssk3y01
Create Date: 2027-01-10 10:00:00

Messages queued before the upgrade have no request id. Widening audit_event.request_id changes
no row (the chain's links are over the values, which stay as they were).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'j23r3q1d0001'
down_revision = 'k24p4ssk3y01'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=128), nullable=True))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column(
            'request_id', existing_type=sa.String(length=64), type_=sa.String(length=128), existing_nullable=True
        )


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column(
            'request_id', existing_type=sa.String(length=128), type_=sa.String(length=64), existing_nullable=True
        )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('request_id')
