"""Passkeys (WebAuthn) as a second factor beside the authenticator app

Revision ID: k24p4ssk3y01
Revises: l25s4m1r3p01
Create Date: 2026-12-20 10:00:00
"""
from alembic import op
import sqlalchemy as sa

from cqmr_wizard.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'k24p4ssk3y01'
down_revision = 'l25s4m1r3p01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'webauthn_credential',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.String(length=1400), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sign_count', sa.BigInteger(), nullable=False),
        sa.Column('transports', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_used_at', UTCDateTime(), nullable=True),
        sa.Column('last_challenge', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_webauthn_credential_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webauthn_credential')),
        sa.UniqueConstraint('credential_id', name=op.f('uq_webauthn_credential_credential_id')),
    )
    op.create_index('ix_webauthn_credential_user_id', 'webauthn_credential', ['user_id'])
    # An agreement signed with a passkey step-up has no TOTP time step.
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.alter_column('totp_step', existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(sa.Column('passkey_id', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_column('passkey_id')
        batch_op.alter_column('totp_step', existing_type=sa.BigInteger(), nullable=False)
    op.drop_index('ix_webauthn_credential_user_id', table_name='webauthn_credential')
    op.drop_table('webauthn_credential')
