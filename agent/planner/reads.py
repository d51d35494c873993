"""Plans for read requests: which read tools answer a question, and the summary of their results.

Supplier-invoice reads are planned in ``invoice_reads``; a request naming several reads
(``ReadsFrame``) runs each of them, their independent reads in one step, and answers them all.
"""

from __future__ import annotations

from typing import Any

from agent.planner import replies as rp
from agent.planner.flow import Decision, Wait, ask, ask_unclear, need
from agent.planner.frames import ReadFrame, ReadsFrame
from agent.planner.invoice_reads import answer_invoice, compare_shown
from agent.planner.matching import Candidate, choose
from agent.planner.resolve import KINDS, Found, Run, Unclear, resolve, resolve_cost_center, search_rows


def answer_read(frame: ReadFrame, run: Run) -> Decision | None:
    handler = {
        "stock": _stock,
        "product": _entity_detail,
        "customer": _entity_detail,
        "supplier": _entity_detail,
        "sales_orders": _order_list,
        "purchase_orders": _order_list,
        "sales_order": _one_order,
        "purchase_order": _one_order,
        "supplier_invoice": answer_invoice,
        "supplier_invoices": answer_invoice,
        "invoice_match": answer_invoice,
        "budget": _budget,
        "accounts": _accounts,
        "balance": _balance,
        "lookup": _lookup,
    }[frame.topic]
    return handler(frame, run)


def answer_reads(frame: ReadsFrame, run: Run) -> Decision | None:
    """Every read of the request: the answers in the order asked, how a shown invoice compares with
    the order it bills, and last a question if a read needs one (kept pending: the answer completes
    that read)."""
    answers: list[Decision] = []
    questions: list[Decision] = []
    waiting = False
    for read in frame.reads:
        try:
            decision = answer_read(read, run)
        except Wait:
            waiting = True
            continue
        if decision is None:
            continue
        if decision.pending is not None:
            questions.append(decision)
        else:
            answers.append(decision)
    if run.calls:
        raise Wait
    texts = [d.text for d in answers]
    texts += compare_shown(frame.reads, run)
    if waiting and run.missing_tools:
        if not texts and not questions:
            return None
        texts.append(
            "I couldn't look up the rest: this session doesn't give me the "
            + ", ".join(run.missing_tools)
            + " tool."
        )
    if questions:  # one question at a time: the answer completes that read
        texts.append(questions[0].text)
    pending = questions[0].pending if questions else None
    return Decision(text="\n\n".join(texts), pending=pending)


def _rows(data: Any) -> list[dict[str, Any]]:
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def _failed(what: str, error: str) -> Decision:
    return Decision(text=f"I couldn't get {what}: {error}")


def _with_note(text: str, found: Found) -> str:
    return f"{text}\n({found.note})" if found.note else text


def _stock(frame: ReadFrame, run: Run) -> Decision:
    if frame.entity is None:
        return ask(frame, "entity", "Which product's stock should I check?")
    product = need(resolve(run, "product", frame.entity))
    if isinstance(product, Unclear):
        return ask_unclear(frame, "entity", product)
    obs = run.read("check_stock", {"product_code": product.code})
    if obs is None:
        raise Wait
    if not obs.ok or not isinstance(obs.data, dict):
        return _failed(f"the stock of {product.code}", obs.error)
    return Decision(text=_with_note(rp.stock_detail(obs.data), product))


_DETAIL = {"customer": rp.customer_detail, "supplier": rp.supplier_detail, "product": rp.product_detail}
_LINE = {"customer": rp.customer_line, "supplier": rp.supplier_line, "product": rp.product_line}


def _entity_detail(frame: ReadFrame, run: Run) -> Decision:
    kind_name = frame.topic
    kind = KINDS[kind_name]
    if frame.entity is None:
        return ask(
            frame,
            "entity",
            f"I can only look {kind.noun}s up by name, code or tax id, not list them all. Which {kind.noun} do you mean?",
        )
    if frame.listing and not frame.entity.code:
        rows = search_rows(run, kind, frame.entity.text)
        if rows is None:
            raise Wait
        if isinstance(rows, Unclear):
            return Decision(text=rows.question)
        if not rows:
            return Decision(text=f"I found no {kind.noun} matching \u201c{frame.entity.text}\u201d.")
        if len(rows) == 1:
            return Decision(text=_DETAIL[kind_name](rows[0]))
        head = f"{len(rows)} {kind.noun}s match \u201c{frame.entity.text}\u201d:"
        return Decision(text=head + "\n" + rp.bullet_list([_LINE[kind_name](r) for r in rows]))
    found = need(resolve(run, kind_name, frame.entity, detail=True))
    if isinstance(found, Unclear):
        return ask_unclear(frame, "entity", found)
    return Decision(text=_with_note(_DETAIL[kind_name](found.record), found))


def _order_list(frame: ReadFrame, run: Run) -> Decision:
    sales = frame.topic == "sales_orders"
    kind_name = "customer" if sales else "supplier"
    tool = "list_sales_orders" if sales else "list_purchase_orders"
    code_arg = "customer_code" if sales else "supplier_code"
    args: dict[str, Any] = {"status": frame.status}
    if frame.cost_center:
        args["limit"] = 100  # no cost-center filter in the tool: read more, keep that cost center's
    whose = ""
    if frame.entity is not None:
        party = need(resolve(run, kind_name, frame.entity))
        if isinstance(party, Unclear):
            return ask_unclear(frame, "entity", party)
        args[code_arg] = party.code
        label = rp.customer_label(party.record) if sales else rp.supplier_label(party.record)
        whose = f" {'for' if sales else 'to'} {label}"
    obs = run.read(tool, args)
    if obs is None:
        raise Wait
    noun = "sales orders" if sales else "purchase orders"
    if not obs.ok:
        return _failed(noun, obs.error)
    rows = _rows(obs.data)
    if frame.cost_center:
        rows = [r for r in rows if rp.s(r, "cost_center") == frame.cost_center]
        whose += f" for cost center {frame.cost_center}"
    status = f" with status {rp.status_text(frame.status)}" if frame.status else ""
    if not rows:
        return Decision(text=f"There are no {noun}{whose}{status}.")
    line = rp.sales_order_line if sales else rp.purchase_order_line
    head = f"{len(rows)} {noun}{whose}{status} (newest first):"
    return Decision(text=head + "\n" + rp.bullet_list([line(r) for r in rows]))


def _one_order(frame: ReadFrame, run: Run) -> Decision:
    sales = frame.topic == "sales_order"
    tool = "get_sales_order" if sales else "get_purchase_order"
    noun = "sales order" if sales else "purchase order"
    obs = run.read(tool, {"order_number": frame.order_number})
    if obs is None:
        raise Wait
    if not obs.ok or not isinstance(obs.data, dict):
        return Decision(text=f"I couldn't find {noun} {frame.order_number}: {obs.error or 'no such order'}.")
    detail = rp.sales_order_detail if sales else rp.purchase_order_detail
    return Decision(text=detail(obs.data))


def _budget(frame: ReadFrame, run: Run) -> Decision:
    if frame.entity is None:
        obs = run.read("check_budget", {"year": frame.year})
        if obs is None:
            raise Wait
        if not obs.ok:
            return _failed("the budgets", obs.error)
        rows = _rows(obs.data)
        if not rows:
            return Decision(text="There are no budgets for that year.")
        year = rp.s(rows[0], "year")
        return Decision(
            text=f"Budgets {year}, available of annual:\n" + "\n".join(rp.budget_line(r) for r in rows)
        )
    found = need(resolve_cost_center(run, frame.entity, year=frame.year))
    if isinstance(found, Unclear):
        return ask_unclear(frame, "entity", found)
    if not found.record:  # the ERP keeps no budgets
        return _failed(f"the budget of cost center {found.code}", found.note)
    return Decision(text=rp.budget_detail(found.record))


def _accounts(frame: ReadFrame, run: Run) -> Decision:
    if frame.entity is None:
        return ask(
            frame, "entity", "Which account are you looking for? Give me words of its name or its code."
        )
    rows = search_rows(run, KINDS["account"], frame.entity.text)
    if rows is None:
        raise Wait
    if isinstance(rows, Unclear):
        return Decision(text=rows.question)
    if not rows:
        return Decision(text=f"I found no GL account matching \u201c{frame.entity.text}\u201d.")
    head = f"GL accounts matching \u201c{frame.entity.text}\u201d:"
    return Decision(text=head + "\n" + rp.bullet_list([rp.account_line(r) for r in rows]))


def _balance(frame: ReadFrame, run: Run) -> Decision:
    if frame.entity is None:
        return ask(frame, "entity", "Which account's balance do you want? Give me its code or name.")
    found = need(resolve(run, "account", frame.entity))
    if isinstance(found, Unclear):
        return ask_unclear(frame, "entity", found)
    args: dict[str, Any] = {"account_code": found.code}
    if frame.as_of is not None:
        args["as_of"] = frame.as_of.isoformat()
    obs = run.read("get_account_balance", args)
    if obs is None:
        raise Wait
    if not obs.ok or not isinstance(obs.data, dict):
        return _failed(f"the balance of {found.code}", obs.error)
    return Decision(text=_with_note(rp.balance_detail(obs.data), found))


def _lookup(frame: ReadFrame, run: Run) -> Decision:
    """A bare name: search customers, suppliers and products at once and report what matched."""
    assert frame.entity is not None
    text = frame.entity.text
    results: dict[str, list[dict[str, Any]]] = {}
    waiting = False
    for kind_name in ("customer", "supplier", "product"):
        kind = KINDS[kind_name]
        obs = run.read(kind.search, {"query": text})
        if obs is None:
            waiting = True
            continue
        results[kind_name] = _rows(obs.data) if obs.ok else []
    if waiting:
        raise Wait
    total = sum(len(rows) for rows in results.values())
    if total == 0:
        return Decision(
            text=f"I found no customer, supplier or product matching \u201c{text}\u201d. " + rp.CAPABILITIES
        )
    for kind_name, rows in results.items():
        if len(rows) == total:
            candidates = [Candidate(rp.s(r, "code"), "", KINDS[kind_name].texts(r)) for r in rows]
            choice = choose(text, candidates)
            if choice.best is not None and (len(rows) == 1 or not choice.ties):
                return Decision(text=_DETAIL[kind_name](rows[choice.best]))
    parts = []
    for kind_name, rows in results.items():
        if rows:
            parts.append(
                f"{KINDS[kind_name].noun.capitalize()}s:\n"
                + rp.bullet_list([_LINE[kind_name](r) for r in rows])
            )
    return Decision(text=f"Here is what matches \u201c{text}\u201d:\n" + "\n".join(parts))
