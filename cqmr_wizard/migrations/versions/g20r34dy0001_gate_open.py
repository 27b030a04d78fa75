"""One meaning of ready: a member's `ready` is the gate's answer, and each organization's row says
whether its own facts let its members through (run `flask progress rebuild` once after upgrading)

Revision ID: g20r34dy0001
Revises: f10st4t1st1c
Create Date: 2026-12-08 09:00:00

Before this revision `member_progress.ready` meant "their own tasks done"; it now also needs the
organization's required tasks, no suspension and a role, which only the task engine computes:
the rebuild recomputes every row. Until then the new column reads false, so any change to an
organization already recomputes its members.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'g20r34dy0001'
down_revision = 'f10st4t1st1c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organization_progress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gate_open', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('organization_progress', schema=None) as batch_op:
        batch_op.alter_column('gate_open', server_default=None)


def downgrade():
    with op.batch_alter_table('organization_progress', schema=None) as batch_op:
        batch_op.drop_column('gate_open')
