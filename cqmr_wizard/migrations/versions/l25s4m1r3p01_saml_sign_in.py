"""SAML 2.0 sign-in: a replay cache of assertion ids every worker shares, and posted responses
waiting for the browser's session

Revision ID: l25s4m1r3p01
Revises: j23purge0001
Create Date: 2027-01-20 10:00:00
"""
from alembic import op
import sqlalchemy as sa

from cqmr_wizard.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'l25s4m1r3p01'
down_revision = 'j23purge0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'saml_assertion_seen',
        sa.Column('assertion_id', sa.String(length=255), nullable=False),
        sa.Column('issuer', sa.String(length=255), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('seen_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('assertion_id'),
    )
    with op.batch_alter_table('saml_assertion_seen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saml_assertion_seen_expires_at'), ['expires_at'], unique=False)
    op.create_table(
        'saml_pending_response',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('received_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    with op.batch_alter_table('saml_pending_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saml_pending_response_received_at'), ['received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('saml_pending_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saml_pending_response_received_at'))
    op.drop_table('saml_pending_response')
    with op.batch_alter_table('saml_assertion_seen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saml_assertion_seen_expires_at'))
    op.drop_table('saml_assertion_seen')
