"""Webhooks (事件推送): events pushed to the host apps that subscribe, so an approval portal
or a supervision system learns of a new 预警 without polling.

Messages follow Standard Webhooks (https://www.standardwebhooks.com): headers
`webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`
(`v1,` + base64 HMAC-SHA256 over `id.timestamp.body` with the subscription's secret,
`whsec_…`). A service emits an event with `emit(ctx, "monitoring.warning", data)`;
each matching subscription gets a stored delivery, sent in the background and retried
with backoff (`webhook_retry_s`) until the receiver answers 2xx. Every attempt is logged
and shown in the admin console.

    events         the event types there are (a service adds its own here)
    signing        signatures, and `verify` for receivers
    subscriptions  host apps' endpoints: create, list, rotate the secret, delete
    delivery       emit, send due deliveries, the background dispatcher
"""
