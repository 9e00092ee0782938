"""Exchange Online's admin REST API: Centralized Deployment of Outlook add-ins.

The only place that talks to `https://outlook.office365.com/adminapi/beta/{tenantId}/InvokeCommand`
(the endpoint the ExchangeOnlineManagement v3 module calls), with the Graph side's rules:
one credential and one HTTP client per tenant, the token's tenant checked before anything
is sent, throttling honoured, every failure an ExchangeError that the reader turns into
an `error` finding. Only Get-App, New-App, Set-App and Remove-App are sent.
"""
