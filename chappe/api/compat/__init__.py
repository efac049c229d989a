"""Compatibility APIs (SPEC M-17, issue 17, decision 0039): smsmode's HTTP API 1.6
(`smsmode_http`), smsmode's REST v1 (`smsmode_rest`) and Twilio's 2010-04-01 Messages API
(`twilio`), mounted at the originals' paths so a client changes only its base URL.

Each is a thin translation onto the services `/api/v1` uses — the acceptance core
(`messaging.services.accept`), edit/cancel, the selectors, webhooks — with the
protocol's own authentication, parameters, answers and error codes. There is no second
send path.
"""
