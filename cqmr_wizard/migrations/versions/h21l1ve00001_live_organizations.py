"""Live organizations: when an organization first completed every required organization task,
and its participation ended (offboarding) or asked to end

Revision ID: h21l1ve00001
Revises: g20r34dy0001
Create Date: 2026-12-08 10:00:00

An organization whose members are all ready today (its own tasks done, as the projection says,
and every active member ready) is live from this migration's time.
"""
from alembic import op
import sqlalchemy as sa

from cqmr_wizard.models.base import UTCDateTime, utcnow


# revision identifiers, used by Alembic.
revision = 'h21l1ve00001'
down_revision = 'g20r34dy0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('went_live_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('offboarded_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('offboarding_reason', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('offboarded_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('offboarding_requested_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('offboarding_requested_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('offboarding_request_reason', sa.String(length=500), nullable=True))
        batch_op.create_foreign_key('fk_organization_offboarded_by', 'user_account', ['offboarded_by_id'], ['id'])
        batch_op.create_foreign_key(
            'fk_organization_offboarding_requested_by', 'user_account', ['offboarding_requested_by_id'], ['id']
        )
    with op.batch_alter_table('organization_progress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('went_live_at', UTCDateTime(), nullable=True))
    live = sa.table(
        'organization_progress',
        sa.column('organization_id', sa.Integer()),
        sa.column('overall', sa.String()),
        sa.column('members', sa.Integer()),
        sa.column('members_ready', sa.Integer()),
        sa.column('went_live_at', UTCDateTime()),
    )
    organization = sa.table('organization', sa.column('id', sa.Integer()), sa.column('went_live_at', UTCDateTime()))
    now = utcnow()
    ready_everywhere = sa.select(live.c.organization_id).where(
        live.c.overall == 'COMPLETED', live.c.members > 0, live.c.members_ready == live.c.members
    )
    op.execute(organization.update().where(organization.c.id.in_(ready_everywhere)).values(went_live_at=now))
    op.execute(live.update().where(live.c.organization_id.in_(ready_everywhere)).values(went_live_at=now))


def downgrade():
    with op.batch_alter_table('organization_progress', schema=None) as batch_op:
        batch_op.drop_column('went_live_at')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_constraint('fk_organization_offboarding_requested_by', type_='foreignkey')
        batch_op.drop_constraint('fk_organization_offboarded_by', type_='foreignkey')
        for column in (
            'offboarding_request_reason', 'offboarding_requested_by_id', 'offboarding_requested_at',
            'offboarded_by_id', 'offboarding_reason', 'offboarded_at', 'went_live_at',
        ):
            batch_op.drop_column(column)
