"""The gateway: named, typed tools over the ERP ports, and the one function every call passes through.

May use ``langchain_core.tools``; never LangGraph or Streamlit. Sees the ERP only through
``erp_acl`` ports and domain types.
"""
