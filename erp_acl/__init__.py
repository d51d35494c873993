"""Anti-corruption layer over the ERP: a clean domain model, ports, and adapters.

Nothing outside this package ever sees a legacy table or column name. This package
imports no LangChain, LangGraph or Streamlit (checked by import-linter).
"""
