"""Invitation links can be erased: `flask purge` sets `invitation.token_hash` to NULL once an
invitation expired, was accepted or was revoked (the invitation itself is kept)

Revision ID: j23purge0001
Revises: i22r3v13w001
Create Date: 2027-01-10 10:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'j23purge0001'
down_revision = 'i22r3v13w001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64), nullable=True)


def downgrade():
    # An erased link gets a marker no token's SHA-256 can equal (not hex), unique per row.
    op.execute("UPDATE invitation SET token_hash = 'erased-' || id WHERE token_hash IS NULL")
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64), nullable=False)
