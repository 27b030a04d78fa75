"""Yearly access reviews: each completed review, and the next one's due date in the progress
projection

Revision ID: i22r3v13w001
Revises: i22r3s1gn001
Create Date: 2026-12-15 10:00:00

A live organization has had no review yet: its first is due a year (the default
ACCESS_REVIEW_INTERVAL) after it went live; with another interval configured, run
`flask progress rebuild` after the upgrade.
"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa

from cqmr_wizard.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'i22r3v13w001'
down_revision = 'i22r3s1gn001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'access_review',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('reviewer_id', sa.Integer(), nullable=False),
        sa.Column('completed_at', UTCDateTime(), nullable=False),
        sa.Column('changes', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organization.id']),
        sa.ForeignKeyConstraint(['reviewer_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_access_review_organization_completed', 'access_review', ['organization_id', 'completed_at']
    )
    with op.batch_alter_table('organization_progress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('access_review_due_at', UTCDateTime(), nullable=True))
        batch_op.create_index('ix_organization_progress_access_review_due_at', ['access_review_due_at'])
    progress = sa.table(
        'organization_progress',
        sa.column('organization_id', sa.Integer()),
        sa.column('access_review_due_at', UTCDateTime()),
    )
    organization = sa.table(
        'organization',
        sa.column('id', sa.Integer()),
        sa.column('went_live_at', UTCDateTime()),
        sa.column('offboarded_at', UTCDateTime()),
    )
    connection = op.get_bind()
    live = connection.execute(
        sa.select(organization.c.id, organization.c.went_live_at).where(
            organization.c.went_live_at.is_not(None), organization.c.offboarded_at.is_(None)
        )
    ).all()
    for org_id, went_live_at in live:
        connection.execute(
            progress.update()
            .where(progress.c.organization_id == org_id)
            .values(access_review_due_at=went_live_at + timedelta(days=365))
        )


def downgrade():
    with op.batch_alter_table('organization_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_organization_progress_access_review_due_at')
        batch_op.drop_column('access_review_due_at')
    op.drop_index('ix_access_review_organization_completed', table_name='access_review')
    op.drop_table('access_review')
