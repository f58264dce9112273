"""initial templates schema

Revision ID: ba39cedbf084
Revises:
Create Date: 2026-11-21 11:55:06.257354

Written to run the same on SQLite and PostgreSQL: enums are plain strings, JSON is
JSONB on PostgreSQL only, booleans have portable server defaults.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'ba39cedbf084'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'templates_audit_log',
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('tenant_id', sa.String(length=26), nullable=True),
        sa.Column('user_id', sa.String(length=26), nullable=True),
        sa.Column('action', sa.String(length=80), nullable=False),
        sa.Column('object_type', sa.String(length=80), nullable=False),
        sa.Column('object_id', sa.String(length=64), nullable=True),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('after', sa.JSON(), nullable=True),
        sa.Column('result', sa.String(length=40), nullable=False),
        sa.Column('message', sa.String(), nullable=True),
        sa.Column('correlation_id', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_templates_audit_log_created_at', 'templates_audit_log', ['created_at'])
    op.create_index('ix_templates_audit_log_object_id', 'templates_audit_log', ['object_id'])
    op.create_index('ix_templates_audit_log_tenant_id', 'templates_audit_log', ['tenant_id'])

    op.create_table(
        'templates_enablements',
        sa.Column('tenant_id', sa.String(length=26), nullable=False),
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('lineage_id', sa.String(length=26), nullable=False),
        sa.Column('enabled_by', sa.String(length=26), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'lineage_id', name='uq_templates_enablements_tenant_lineage'),
    )
    op.create_index('ix_templates_enablements_lineage_id', 'templates_enablements', ['lineage_id'])
    op.create_index('ix_templates_enablements_tenant_id', 'templates_enablements', ['tenant_id'])

    op.create_table(
        'templates_fields',
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('type', sa.String(length=16), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=True),
        sa.Column('required', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('min', sa.Float(), nullable=True),
        sa.Column('max', sa.Float(), nullable=True),
        sa.Column('pattern', sa.String(length=500), nullable=True),
        sa.Column('enum_values', JSON, nullable=True),
        sa.Column('access', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_templates_fields_key', 'templates_fields', ['key'])

    op.create_table(
        'templates_templates',
        sa.Column('id', sa.String(length=26), nullable=False),
        sa.Column('lineage_id', sa.String(length=26), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('description', sa.String(length=2000), nullable=False, server_default=''),
        sa.Column('version', sa.Integer(), nullable=False, server_default='1'),
        sa.Column('status', sa.String(length=16), nullable=False, server_default='DRAFT'),
        sa.Column('category_id', sa.String(length=26), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('deprecated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by', sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('lineage_id', 'version', name='uq_templates_templates_lineage_version'),
    )
    op.create_index('ix_templates_templates_category_id', 'templates_templates', ['category_id'])
    op.create_index('ix_templates_templates_lineage_id', 'templates_templates', ['lineage_id'])
    op.create_index('ix_templates_templates_name', 'templates_templates', ['name'])
    op.create_index('ix_templates_templates_status', 'templates_templates', ['status'])

    op.create_table(
        'templates_template_fields',
        sa.Column('template_id', sa.String(length=26), nullable=False),
        sa.Column('field_id', sa.String(length=26), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['field_id'], ['templates_fields.id']),
        sa.ForeignKeyConstraint(['template_id'], ['templates_templates.id']),
        sa.PrimaryKeyConstraint('template_id', 'field_id'),
        sa.UniqueConstraint('template_id', 'position', name='uq_templates_template_fields_position'),
    )
    op.create_index('ix_templates_template_fields_field_id', 'templates_template_fields', ['field_id'])


def downgrade() -> None:
    op.drop_index('ix_templates_template_fields_field_id', table_name='templates_template_fields')
    op.drop_table('templates_template_fields')
    for index in ('status', 'name', 'lineage_id', 'category_id'):
        op.drop_index(f'ix_templates_templates_{index}', table_name='templates_templates')
    op.drop_table('templates_templates')
    op.drop_index('ix_templates_fields_key', table_name='templates_fields')
    op.drop_table('templates_fields')
    op.drop_index('ix_templates_enablements_tenant_id', table_name='templates_enablements')
    op.drop_index('ix_templates_enablements_lineage_id', table_name='templates_enablements')
    op.drop_table('templates_enablements')
    for index in ('tenant_id', 'object_id', 'created_at'):
        op.drop_index(f'ix_templates_audit_log_{index}', table_name='templates_audit_log')
    op.drop_table('templates_audit_log')
