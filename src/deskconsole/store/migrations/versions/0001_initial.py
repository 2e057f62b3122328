"""0001: the schema as deskconsole created it before it had migrations.

Every table of deskconsole.store.models with its indexes, as `SQLModel.metadata.create_all` made
them. A database made by that earlier code (tables, no alembic_version) is taken to be at 0001.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('skills', sa.String(length=512), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('availability', sa.String(length=16), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['manager_id'], ['agent.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_agent_name'), 'agent', ['name'], unique=True)
    op.create_table('meta',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.String(length=320), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('product_area', sa.String(length=100), nullable=True),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('sub_status', sa.String(length=32), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.Column('attention', sa.String(length=200), nullable=True),
    sa.Column('engineering_ref', sa.String(length=100), nullable=True),
    sa.Column('cloned_from_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_actor', sa.String(length=220), nullable=True),
    sa.Column('last_change', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['cloned_from_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ref')
    )
    op.create_index('ix_case_assignee_status', 'case', ['assignee_id', 'status'], unique=False)
    op.create_index('ix_case_priority_id', 'case', ['priority', 'id'], unique=False)
    op.create_index('ix_case_status_id', 'case', ['status', 'id'], unique=False)
    op.create_table('article',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('source_case_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_article_fingerprint'), 'article', ['fingerprint'], unique=False)
    op.create_table('engineeringitem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('logged_by', sa.String(length=64), nullable=False),
    sa.Column('logged_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_engineeringitem_case_id'), 'engineeringitem', ['case_id'], unique=False)
    op.create_table('escalation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=220), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('on_behalf', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('manager', sa.String(length=64), nullable=True),
    sa.Column('severity_impact', sa.Text(), nullable=True),
    sa.Column('business_risk', sa.Text(), nullable=True),
    sa.Column('sla_commitments', sa.Text(), nullable=True),
    sa.Column('actions_taken', sa.Text(), nullable=True),
    sa.Column('problem_statement_ok', sa.Boolean(), nullable=True),
    sa.Column('impact_described', sa.Boolean(), nullable=True),
    sa.Column('workaround_impractical', sa.Boolean(), nullable=True),
    sa.Column('milestone_date', sa.String(length=40), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('engineer', sa.String(length=64), nullable=True),
    sa.Column('comm_mode', sa.String(length=20), nullable=True),
    sa.Column('comm_frequency', sa.String(length=40), nullable=True),
    sa.Column('comm_attendees', sa.Text(), nullable=True),
    sa.Column('prior_priority', sa.String(length=2), nullable=True),
    sa.Column('last_status_update_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('de_escalated_by', sa.String(length=64), nullable=True),
    sa.Column('de_escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_escalation_case', 'escalation', ['case_id', 'state'], unique=False)
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=220), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('data', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_event_case_id', 'event', ['case_id', 'id'], unique=False)
    op.create_table('survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('to', sa.String(length=320), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )
    op.create_index(op.f('ix_survey_answered_at'), 'survey', ['answered_at'], unique=False)
    op.create_table('timer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_timer_case_state', 'timer', ['case_id', 'state'], unique=False)
    op.create_index('ix_timer_pending_due', 'timer', ['state', 'due_at'], unique=False)
    op.create_table('casearticle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('linked_by', sa.String(length=64), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['article.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'article_id')
    )
    op.create_index(op.f('ix_casearticle_case_id'), 'casearticle', ['case_id'], unique=False)
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('to', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('message_id', sa.String(length=250), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_outbox_case_id'), 'outbox', ['case_id'], unique=False)
    op.create_index('ix_outbox_state_id', 'outbox', ['state', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_state_id', table_name='outbox')
    op.drop_index(op.f('ix_outbox_case_id'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_index(op.f('ix_casearticle_case_id'), table_name='casearticle')
    op.drop_table('casearticle')
    op.drop_index('ix_timer_pending_due', table_name='timer')
    op.drop_index('ix_timer_case_state', table_name='timer')
    op.drop_table('timer')
    op.drop_index(op.f('ix_survey_answered_at'), table_name='survey')
    op.drop_table('survey')
    op.drop_index('ix_event_case_id', table_name='event')
    op.drop_table('event')
    op.drop_index('ix_escalation_case', table_name='escalation')
    op.drop_table('escalation')
    op.drop_index(op.f('ix_engineeringitem_case_id'), table_name='engineeringitem')
    op.drop_table('engineeringitem')
    op.drop_index(op.f('ix_article_fingerprint'), table_name='article')
    op.drop_table('article')
    op.drop_index('ix_case_status_id', table_name='case')
    op.drop_index('ix_case_priority_id', table_name='case')
    op.drop_index('ix_case_assignee_status', table_name='case')
    op.drop_table('case')
    op.drop_table('meta')
    op.drop_index(op.f('ix_agent_name'), table_name='agent')
    op.drop_table('agent')
