"""Agreement versions with a date to sign by: the version's sign_by and change summary, one
organization's extensions, and the projection's re-sign date and member refresh time

Revision ID: i22r3s1gn001
Revises: h21l1ve00001
Create Date: 2026-12-15 10:00:00

Versions published before this migration were in force at once (sign_by stays null).
"""
from alembic import op
import sqlalchemy as sa

from cqmr_wizard.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'i22r3s1gn001'
down_revision = 'h21l1ve00001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agreement_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_by', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('change_summary', sa.Text(), nullable=True))
    op.create_table(
        'agreement_extension',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('agreement_version_id', sa.Integer(), nullable=False),
        sa.Column('sign_by', UTCDateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('extended_by_id', sa.Integer(), nullable=True),
        sa.Column('extended_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['agreement_version_id'], ['agreement_version.id']),
        sa.ForeignKeyConstraint(['extended_by_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['organization_id'], ['organization.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('agreement_extension', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_extension_organization_id'), ['organization_id'], unique=False)
    with op.batch_alter_table('organization_progress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resign_by', UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_organization_progress_resign_by'), ['resign_by'], unique=False)
    with op.batch_alter_table('member_progress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refresh_due_at', UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_member_progress_refresh_due_at'), ['refresh_due_at'], unique=False)


def downgrade():
    with op.batch_alter_table('member_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_progress_refresh_due_at'))
        batch_op.drop_column('refresh_due_at')
    with op.batch_alter_table('organization_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_progress_resign_by'))
        batch_op.drop_column('resign_by')
    with op.batch_alter_table('agreement_extension', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_extension_organization_id'))
    op.drop_table('agreement_extension')
    with op.batch_alter_table('agreement_version', schema=None) as batch_op:
        batch_op.drop_column('change_summary')
        batch_op.drop_column('sign_by')
