"""The named tools: what each one is called, what it takes, and what it does through the ports.

Read tools answer from an ``ErpReader``. Propose tools turn their arguments into a domain
command (they never write): the gateway validates it and files it for approval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from erp_acl.commands import (
    CancelPurchaseOrder,
    CancelSalesOrder,
    ChangeCreditLimit,
    ChangePrice,
    Command,
    CreatePurchaseOrder,
    JournalLineSpec,
    PostJournalEntry,
    PurchaseLineSpec,
)
from erp_acl.ports import ErpReader
from tools import schemas as s

ToolKind = Literal["read", "propose"]


@dataclass(frozen=True)
class ReadTool:
    name: str
    description: str
    args_model: type[BaseModel]
    run: Callable[[ErpReader, Any], Any]
    kind: ToolKind = "read"


@dataclass(frozen=True)
class ProposeTool:
    name: str
    description: str
    args_model: type[BaseModel]
    action: str
    to_command: Callable[[Any, date], Command]
    kind: ToolKind = "propose"


Tool = ReadTool | ProposeTool


def _purchase_order(args: s.ProposePurchaseOrderArgs, today: date) -> Command:
    return CreatePurchaseOrder(
        supplier_code=args.supplier_code,
        cost_center=args.cost_center,
        lines=[
            PurchaseLineSpec(product_code=ln.product_code, quantity=ln.quantity, unit_price=ln.unit_price)
            for ln in args.lines
        ],
        memo=args.memo,
    )


def _journal_entry(args: s.ProposeJournalEntryArgs, today: date) -> Command:
    return PostJournalEntry(
        entry_date=args.entry_date or today,
        description=args.description,
        lines=[
            JournalLineSpec(account_code=ln.account_code, debit=ln.debit, credit=ln.credit)
            for ln in args.lines
        ],
    )


def _credit_limit(args: s.ProposeCreditLimitChangeArgs, today: date) -> Command:
    return ChangeCreditLimit(customer_code=args.customer_code, new_limit=args.new_limit, reason=args.reason)


def _cancellation(args: s.ProposeSalesOrderCancellationArgs, today: date) -> Command:
    return CancelSalesOrder(order_number=args.order_number, reason=args.reason)


def _purchase_cancellation(args: s.ProposePurchaseOrderCancellationArgs, today: date) -> Command:
    return CancelPurchaseOrder(order_number=args.order_number, reason=args.reason)


def _price(args: s.ProposePriceChangeArgs, today: date) -> Command:
    return ChangePrice(product_code=args.product_code, new_price=args.new_price, reason=args.reason)


READ_TOOLS: tuple[ReadTool, ...] = (
    ReadTool(
        "search_customers",
        "Find customers by name, short name, tax id or code. Returns the best matches first.",
        s.SearchArgs,
        lambda erp, a: erp.search_customers(a.query, a.limit),
    ),
    ReadTool(
        "get_customer",
        "One customer by code: credit limit, open orders total, blocked flag, memo.",
        s.CustomerCodeArgs,
        lambda erp, a: erp.get_customer(a.customer_code),
    ),
    ReadTool(
        "search_suppliers",
        "Find suppliers by name, short name, tax id or code. Returns the best matches first.",
        s.SearchArgs,
        lambda erp, a: erp.search_suppliers(a.query, a.limit),
    ),
    ReadTool(
        "get_supplier",
        "One supplier by code.",
        s.SupplierCodeArgs,
        lambda erp, a: erp.get_supplier(a.supplier_code),
    ),
    ReadTool(
        "search_products",
        "Find products by description words or code. Returns the best matches first.",
        s.SearchArgs,
        lambda erp, a: erp.search_products(a.query, a.limit),
    ),
    ReadTool(
        "get_product",
        "One product by code: unit, list price, standard cost, reorder point.",
        s.ProductCodeArgs,
        lambda erp, a: erp.get_product(a.product_code),
    ),
    ReadTool(
        "check_stock",
        "Stock of one product in each warehouse: on hand, reserved, available, and whether it is below its reorder point.",
        s.ProductCodeArgs,
        lambda erp, a: erp.stock_report(a.product_code),
    ),
    ReadTool(
        "list_sales_orders",
        "Sales orders, newest first, optionally for one customer and/or one status.",
        s.ListSalesOrdersArgs,
        lambda erp, a: erp.list_sales_orders(a.customer_code, a.status, a.limit),
    ),
    ReadTool(
        "get_sales_order",
        "One sales order by number, with its lines.",
        s.SalesOrderNumberArgs,
        lambda erp, a: erp.get_sales_order(a.order_number),
    ),
    ReadTool(
        "list_purchase_orders",
        "Purchase orders, newest first, optionally for one supplier and/or one status.",
        s.ListPurchaseOrdersArgs,
        lambda erp, a: erp.list_purchase_orders(a.supplier_code, a.status, a.limit),
    ),
    ReadTool(
        "get_purchase_order",
        "One purchase order by number, with its lines.",
        s.PurchaseOrderNumberArgs,
        lambda erp, a: erp.get_purchase_order(a.order_number),
    ),
    ReadTool(
        "list_supplier_invoices",
        "Supplier invoices, newest first, optionally for one supplier and/or one purchase order.",
        s.ListSupplierInvoicesArgs,
        lambda erp, a: erp.list_supplier_invoices(a.supplier_code, a.purchase_order_number, a.limit),
    ),
    ReadTool(
        "get_supplier_invoice",
        "One supplier invoice by number, with its lines and the purchase order it bills.",
        s.SupplierInvoiceNumberArgs,
        lambda erp, a: erp.get_supplier_invoice(a.invoice_number),
    ),
    ReadTool(
        "check_budget",
        "Budget of one cost center for a year (annual, committed, spent, available), or all cost centers when none is given.",
        s.CheckBudgetArgs,
        lambda erp, a: erp.get_budget(a.cost_center, a.year) if a.cost_center else erp.list_budgets(a.year),
    ),
    ReadTool(
        "search_accounts",
        "Find general-ledger accounts by name words or code.",
        s.SearchArgs,
        lambda erp, a: erp.search_accounts(a.query, a.limit),
    ),
    ReadTool(
        "get_account_balance",
        "Balance of one general-ledger account (debits, credits, balance) at a date.",
        s.AccountBalanceArgs,
        lambda erp, a: erp.account_balance(a.account_code, a.as_of),
    ),
)

PROPOSE_TOOLS: tuple[ProposeTool, ...] = (
    ProposeTool(
        "propose_purchase_order",
        "Propose a purchase order to a supplier, charged to a cost center's budget. Files it for human approval; does not write.",
        s.ProposePurchaseOrderArgs,
        "create_purchase_order",
        _purchase_order,
    ),
    ProposeTool(
        "propose_journal_entry",
        "Propose a balanced journal entry (debits equal credits, postable accounts). Files it for human approval.",
        s.ProposeJournalEntryArgs,
        "post_journal_entry",
        _journal_entry,
    ),
    ProposeTool(
        "propose_credit_limit_change",
        "Propose a new credit limit for a customer. Files it for human approval.",
        s.ProposeCreditLimitChangeArgs,
        "change_credit_limit",
        _credit_limit,
    ),
    ProposeTool(
        "propose_sales_order_cancellation",
        "Propose cancelling an open sales order, with a reason. Files it for human approval.",
        s.ProposeSalesOrderCancellationArgs,
        "cancel_sales_order",
        _cancellation,
    ),
    ProposeTool(
        "propose_price_change",
        "Propose a new list price for a product (at most 30% up or down). Files it for human approval.",
        s.ProposePriceChangeArgs,
        "change_price",
        _price,
    ),
    ProposeTool(
        "propose_cancel_purchase_order",
        "Propose cancelling an open purchase order, with a reason; its commitment goes back to the cost center's budget. Files it for human approval.",
        s.ProposePurchaseOrderCancellationArgs,
        "cancel_purchase_order",
        _purchase_cancellation,
    ),
)

ALL_TOOLS: tuple[Tool, ...] = (*READ_TOOLS, *PROPOSE_TOOLS)
TOOLS_BY_NAME: dict[str, Tool] = {tool.name: tool for tool in ALL_TOOLS}


def get_tool(name: str) -> Tool:
    """The tool called ``name``; raises KeyError with the list of known tools."""
    try:
        return TOOLS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown tool {name!r}; known tools: {', '.join(TOOLS_BY_NAME)}") from None
