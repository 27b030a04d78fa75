"""Provisioning into the CQMR: one provisioning_state row per person

Revision ID: e11pr0v1s10n
Revises: d10pr0gress1
Create Date: 2026-11-30 05:58:58.311493

"""
from alembic import op
import sqlalchemy as sa

import cqmr_wizard.models.base


# revision identifiers, used by Alembic.
revision = 'e11pr0v1s10n'
down_revision = 'd10pr0gress1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('provisioning_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('desired_active', sa.Boolean(), nullable=False),
    sa.Column('user_name', sa.String(length=255), nullable=False),
    sa.Column('desired_digest', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('cqmr_id', sa.String(length=255), nullable=True),
    sa.Column('changed_at', cqmr_wizard.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempted_at', cqmr_wizard.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('provisioned_at', cqmr_wizard.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_provisioning_state_organization_id_organization')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_provisioning_state_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioning_state')),
    sa.UniqueConstraint('user_id', name=op.f('uq_provisioning_state_user_id'))
    )
    with op.batch_alter_table('provisioning_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provisioning_state_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provisioning_state_state'), ['state'], unique=False)



def downgrade():
    with op.batch_alter_table('provisioning_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provisioning_state_state'))
        batch_op.drop_index(batch_op.f('ix_provisioning_state_organization_id'))

    op.drop_table('provisioning_state')
