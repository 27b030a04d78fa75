"""An organization administrator may require passkeys of the organization's members

Revision ID: m24pkp0l1cy1
Revises: j23r3q1d0001
Create Date: 2026-12-21 10:00:00
"""
from alembic import op
import sqlalchemy as sa

from cqmr_wizard.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'm24pkp0l1cy1'
down_revision = 'j23r3q1d0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organization') as batch_op:
        batch_op.add_column(sa.Column('passkeys_required_at', UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('organization') as batch_op:
        batch_op.drop_column('passkeys_required_at')
