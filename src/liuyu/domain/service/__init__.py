"""The service hub's pure core: conversations, tickets, routing, SLA clocks, assignment, QA and follow-ups.

Plain Python over plain data (stdlib and pydantic), time always passed in, so storage, the web
console and scheduled jobs all call the same rules. ``docs/service_hub.md`` describes the model.
"""
