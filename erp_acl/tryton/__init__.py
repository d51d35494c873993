"""Groundwork for Tryton (8.2) behind the anti-corruption layer: a JSON-RPC client (``rpc``), a
server runner for tests and demos (``server``) and database preparation with demo data (``setup``).

The ``Erp`` port adapter is not written yet; nothing here is wired into the product's settings.
"""
