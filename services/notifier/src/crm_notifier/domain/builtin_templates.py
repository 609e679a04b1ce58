"""The built-in notification templates: a subject and a short plain-text body (fit for an
SMS or a chat bot) for every kind in every locale, and the sample facts a template is checked
and previewed with. An admin's saved template replaces one (``domain/templates.py``)."""

# ruff: noqa: RUF001 (the Chinese templates' full-width punctuation is meant)

from typing import Any

from crm_notifier.domain.kinds import Kind

_CLOCK_ZH = '{"assign": "分配", "first_response": "首次响应", "resolve": "解决"}.get(clock, clock)'
_PRIORITY_ZH = '{"high": "高", "medium": "中", "low": "低"}.get(priority, priority)'

BUILT_IN: dict[tuple[Kind, str], tuple[str, str]] = {
    (Kind.REMINDER, "zh-CN"): (
        "{% if late %}跟进已逾期{% else %}跟进提醒{% endif %}：{{ title }}",
        "您好 {{ recipient_name }}，跟进「{{ title }}」"
        "{% if late %}已逾期（应于 {{ due_at | datetime }} 完成）"
        "{% else %}将于 {{ due_at | datetime }} 到期{% endif %}，请及时处理。"
        "{% if link %}详情：{{ link }}{% endif %}",
    ),
    (Kind.REMINDER, "en"): (
        "{% if late %}Overdue{% else %}Reminder{% endif %}: {{ title }}",
        'Hello {{ recipient_name }}, the follow-up "{{ title }}" '
        "{% if late %}was due at {{ due_at | datetime }} and is overdue"
        "{% else %}is due at {{ due_at | datetime }}{% endif %}."
        "{% if link %} Details: {{ link }}{% endif %}",
    ),
    (Kind.TICKET_ASSIGNED, "zh-CN"): (
        "新工单：{{ code }} {{ title }}",
        "您好 {{ recipient_name }}，工单 {{ code }}「{{ title }}」（客户：{{ customer_name }}，"
        "优先级：{{ " + _PRIORITY_ZH + " }}）已分配给您"
        "{% if reason %}（{{ reason }}）{% endif %}，请及时处理。"
        "{% if link %}详情：{{ link }}{% endif %}",
    ),
    (Kind.TICKET_ASSIGNED, "en"): (
        "Ticket assigned: {{ code }} {{ title }}",
        'Hello {{ recipient_name }}, ticket {{ code }} "{{ title }}" ({{ customer_name }}, '
        "{{ priority }} priority) is assigned to you{% if reason %} ({{ reason }}){% endif %}."
        "{% if link %} Details: {{ link }}{% endif %}",
    ),
    (Kind.SLA_WARNING, "zh-CN"): (
        "SLA 预警：工单 {{ code }} 即将超时",
        "您好 {{ recipient_name }}，工单 {{ code }}「{{ title }}」（客户：{{ customer_name }}，"
        "优先级：{{ " + _PRIORITY_ZH + " }}）的{{ " + _CLOCK_ZH + " }}时限"
        "将于 {{ due_at | datetime }} 到期，请尽快处理。"
        "{% if link %}详情：{{ link }}{% endif %}",
    ),
    (Kind.SLA_WARNING, "en"): (
        "SLA warning: ticket {{ code }} is due soon",
        'Hello {{ recipient_name }}, the {{ clock | replace("_", " ") }} target of ticket '
        '{{ code }} "{{ title }}" ({{ customer_name }}, {{ priority }} priority) ends at '
        "{{ due_at | datetime }}.{% if link %} Details: {{ link }}{% endif %}",
    ),
    (Kind.SLA_BREACHED, "zh-CN"): (
        "SLA 超时：工单 {{ code }}",
        "您好 {{ recipient_name }}，工单 {{ code }}「{{ title }}」（客户：{{ customer_name }}，"
        "优先级：{{ " + _PRIORITY_ZH + " }}）的{{ " + _CLOCK_ZH + " }}时限"
        "已于 {{ due_at | datetime }} 超时，请立即处理。"
        "{% if link %}详情：{{ link }}{% endif %}",
    ),
    (Kind.SLA_BREACHED, "en"): (
        "SLA breached: ticket {{ code }}",
        'Hello {{ recipient_name }}, the {{ clock | replace("_", " ") }} target of ticket '
        '{{ code }} "{{ title }}" ({{ customer_name }}, {{ priority }} priority) was breached '
        "at {{ due_at | datetime }}.{% if link %} Details: {{ link }}{% endif %}",
    ),
    (Kind.SURVEY, "zh-CN"): (
        "请为工单 {{ code }} 的服务评分",
        "您好 {{ recipient_name }}，工单 {{ code }} 已处理完毕，请点击 {{ link }} "
        "为本次服务评分（{{ expires_at | datetime }} 前有效）",
    ),
    (Kind.SURVEY, "en"): (
        "How did we do on ticket {{ code }}?",
        "Hello {{ recipient_name }}, ticket {{ code }} has been resolved. Please rate our "
        "service at {{ link }} (open until {{ expires_at | datetime }}).",
    ),
    (Kind.CALLBACK_DUE, "zh-CN"): (
        "回访提醒：工单 {{ code }}",
        "您好 {{ recipient_name }}，工单 {{ code }}「{{ title }}」（客户：{{ customer_name }}）"
        "需于 {{ due_at | datetime }} 前完成回访。{% if link %}详情：{{ link }}{% endif %}",
    ),
    (Kind.CALLBACK_DUE, "en"): (
        "Callback due: ticket {{ code }}",
        'Hello {{ recipient_name }}, the callback of ticket {{ code }} "{{ title }}" '
        "({{ customer_name }}) is due by {{ due_at | datetime }}."
        "{% if link %} Details: {{ link }}{% endif %}",
    ),
    (Kind.OWNER_CHANGED, "zh-CN"): (
        "客户移交：{{ customer_name }}",
        "您好 {{ recipient_name }}，客户 {{ customer_name }}（{{ customer_code }}）已移交给您"
        "{% if reason %}，原因：{{ reason }}{% endif %}。{% if link %}详情：{{ link }}{% endif %}",
    ),
    (Kind.OWNER_CHANGED, "en"): (
        "Customer transferred: {{ customer_name }}",
        "Hello {{ recipient_name }}, the customer {{ customer_name }} ({{ customer_code }}) "
        "is now yours{% if reason %} ({{ reason }}){% endif %}."
        "{% if link %} Details: {{ link }}{% endif %}",
    ),
    (Kind.CHANGE_REQUEST, "zh-CN"): (
        "待审批变更：{{ customer_name }}",
        "您好 {{ recipient_name }}，客户 {{ customer_name }}（{{ customer_code }}）"
        "有一项变更待您审批"
        "{% if fields %}（{{ fields | join('、') }}）{% endif %}。"
        "{% if link %}审批：{{ link }}{% endif %}",
    ),
    (Kind.CHANGE_REQUEST, "en"): (
        "Change awaiting approval: {{ customer_name }}",
        "Hello {{ recipient_name }}, a change to the customer {{ customer_name }} "
        "({{ customer_code }}) awaits your approval{% if fields %} ({{ fields | join(', ') }})"
        "{% endif %}.{% if link %} Review it: {{ link }}{% endif %}",
    ),
    (Kind.OPPORTUNITY_WON, "zh-CN"): (
        "商机成交：{{ code }}",
        "您好 {{ recipient_name }}，商机 {{ code }} 已成交，金额 {{ amount }}。"
        "{% if link %}详情：{{ link }}{% endif %}",
    ),
    (Kind.OPPORTUNITY_WON, "en"): (
        "Opportunity won: {{ code }}",
        "Hello {{ recipient_name }}, the opportunity {{ code }} was won ({{ amount }})."
        "{% if link %} Details: {{ link }}{% endif %}",
    ),
    (Kind.WEBHOOK_DISABLED, "zh-CN"): (
        "Webhook 已停用：{{ partner }}",
        "您好 {{ recipient_name }}，合作方 {{ partner }} 的 Webhook（{{ url }}）已停用"
        "{% if reason %}，原因：{{ reason }}{% endif %}。"
        "{% if link %}请检查：{{ link }}{% endif %}",
    ),
    (Kind.WEBHOOK_DISABLED, "en"): (
        "Webhook disabled: {{ partner }}",
        "Hello {{ recipient_name }}, the webhook of {{ partner }} ({{ url }}) was disabled"
        "{% if reason %}: {{ reason }}{% endif %}.{% if link %} Check it: {{ link }}{% endif %}",
    ),
    (Kind.MESSAGE, "zh-CN"): (
        "{{ subject }}",
        "{{ text }}{% if link %}\n{{ link }}{% endif %}",
    ),
    (Kind.MESSAGE, "en"): (
        "{{ subject }}",
        "{{ text }}{% if link %}\n{{ link }}{% endif %}",
    ),
}

# What the sample of each fact looks like (a preview, the check when a template is saved).
SAMPLE_VALUES: dict[str, Any] = {
    "recipient_name": "张伟",
    "link": "https://crm.example.com/r/7f3a",
    "title": "空调不制冷",
    "due_at": "2026-06-01T01:00:00Z",
    "expires_at": "2026-06-08T01:00:00Z",
    "customer_id": "5b1f0c0e-8d7e-4a53-9d8e-0f6b2a1c9e77",
    "late": False,
    "code": "T20260601-0001",
    "customer_name": "上海示例科技有限公司",
    "customer_code": "C2026000123",
    "priority": "high",
    "reason": "按技能自动分配",
    "clock": "first_response",
    "fields": ["name", "industry"],
    "amount": "128000.00",
    "owner_id": "u-1001",
    "partner": "示例合作方",
    "url": "https://partner.example.com/hooks/crm",
    "subject": "系统维护通知",
    "text": "系统将于今晚 22:00 至 23:00 维护，期间暂停服务。",
}
SAMPLE_OVERRIDES: dict[Kind, dict[str, Any]] = {
    Kind.OPPORTUNITY_WON: {"code": "O20260601-0007"},
    Kind.OWNER_CHANGED: {"reason": "原负责人调岗"},
    Kind.WEBHOOK_DISABLED: {"reason": "连续 20 次投递失败"},
}
