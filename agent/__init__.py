"""The agent: LangGraph state machine, approvals store, model choice, service API and CLI."""
