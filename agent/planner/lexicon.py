"""The words the planner understands: verbs, nouns, synonyms, statuses, codes and filler.

Everything here is data (sets and compiled patterns over folded, lower-case text); the parser
combines them. Adding a synonym is a one-line change in this module.
"""

from __future__ import annotations

import re
from typing import Final


def words(text: str) -> frozenset[str]:
    """A word set written as one block of text (one entry per whitespace-separated word)."""
    return frozenset(text.split())


def alternation(words: frozenset[str] | tuple[str, ...]) -> str:
    """A regex alternation of words/phrases (longest first, spaces match any run of spaces)."""
    ordered = sorted(words, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in ordered) + ")"


# ---- codes (matched case-insensitively on folded text unless noted) ----------------------------
CUSTOMER_CODE: Final = re.compile(r"\bc\d{5}\b")
SUPPLIER_CODE: Final = re.compile(r"\bf\d{5}\b")
ACCOUNT_CODE: Final = re.compile(r"(?<![\d.])\d(?:\.\d{1,3}){2,4}(?![\d.]*\d)")
COST_CENTER_CODE: Final = re.compile(r"\bcc[-\s]?(\d{2,4})\b")
# Product codes are matched on the original text: upper case, or containing a digit.
PRODUCT_CODE: Final = re.compile(r"(?<![\w-])[A-Za-z]{1,5}\d{0,3}(?:-[A-Za-z0-9]{1,8}){1,4}(?![\w-])")
ISO_DATE: Final = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
BR_DATE: Final = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
YEAR: Final = re.compile(r"\b(20\d{2})\b")
QUOTED: Final = re.compile(r"\"([^\"]+)\"|(?<![a-z])'([^']+)'(?![a-z])")

# ---- conversation -------------------------------------------------------------------------------
GREETINGS: Final = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "good morning",
        "good afternoon",
        "good evening",
        "ola",
        "oi",
        "bom dia",
        "boa tarde",
        "hiya",
        "howdy",
        "yo",
    }
)
THANKS: Final = frozenset(
    {
        "thanks",
        "thank you",
        "thx",
        "ty",
        "cheers",
        "great",
        "perfect",
        "ok",
        "okay",
        "cool",
        "nice",
        "got it",
        "obrigado",
        "obrigada",
        "valeu",
        "awesome",
        "excellent",
        "good",
        "fine",
    }
)
ACKS: Final = frozenset({"yes", "no", "yep", "nope", "sure", "right", "alright", "all right", "fine", "k"})
HELP_RE: Final = re.compile(
    r"^(?:help|\?|what can you do|what do you do|how can you help|what are you|who are you|"
    r"what can i ask|what can i ask you|capabilities|commands|menu)\b"
)
ABORT_RE: Final = re.compile(
    r"^(?:never\s*mind|forget\s+(?:it|that|about\s+it)|cancel(?:\s+(?:it|that|this|the\s+request))?|"
    r"stop|abort|don'?t|do\s+not|no\s+thanks|nope|no|drop\s+it|scratch\s+that|leave\s+it)\b"
)
POLITE_PREFIX: Final = re.compile(
    r"^(?:(?:please|pls|plz|kindly|hey|hi|hello|ok|okay|so|now|then|also|and|alright|right|"
    r"can\s+you|could\s+you|would\s+you|will\s+you|can\s+we|could\s+we|can\s+i|could\s+i|"
    r"i'?d\s+like\s+(?:you\s+)?to|i\s+would\s+like\s+(?:you\s+)?to|i\s+want\s+(?:you\s+)?to|"
    r"i\s+need\s+(?:you\s+)?to|we\s+need\s+to|we\s+want\s+to|we'?d\s+like\s+to|let'?s|lets|"
    r"go\s+ahead\s+and|help\s+me|i\s+wanna|wanna|just)\b[\s,!:]*)+"
)

# ---- out of scope ---------------------------------------------------------------------------------
DESTRUCTIVE_RE: Final = re.compile(
    r"\b(?:delete|erase|wipe|purge|truncate|destroy|obliterate|nuke|format)\b|"
    r"\bdrop\s+(?:the\s+)?(?:table|database|db|schema|records?|data)\b|\bdrop\s+table\b|"
    r"\bremove\s+(?:all|every|the\s+(?:customer|supplier|product|account|record|order|entry))"
)
COMMUNICATION_RE: Final = re.compile(
    r"\b(?:e-?mail|emails|e-?mailing|whatsapp|sms|text\s+message|slack|tweet|post\s+on|call\s+(?:him|her|them)|"
    r"phone|telephone|send\s+(?:a\s+)?(?:message|letter|note|reminder|mail)|mail\s+(?:him|her|them|it))\b"
)
OFF_TOPIC_RE: Final = re.compile(
    r"\b(?:weather|forecast|rain|poem|poetry|haiku|sonnet|song|lyrics|joke|jokes|riddle|story|recipe|"
    r"football|soccer|movie|movies|film|news|horoscope|president|capital\s+of|translate|translation|"
    r"write\s+(?:me\s+)?(?:a|an|some)\s+(?:essay|code|script|program|python|letter|story)|"
    r"python|javascript|meaning\s+of\s+life|bitcoin|crypto|stock\s+market|stock\s+price\s+of|"
    r"share\s+price|dating|vacation|holiday|restaurant|pizza|game|chess|password|hack|exploit|flights?|hotels?|"
    r"travel|trip|taxi|uber|train\s+tickets?|movie\s+tickets?)\b"
)
# Deciding on proposals is for people (the approvals inbox), never for the agent.
APPROVAL_RE: Final = re.compile(
    r"\b(?:approve|reject|decline|authori[sz]e|sign\s+off(?:\s+on)?)\s+(?:\w+\s+){0,3}?"
    r"(?:proposals?|requests?|pos?|purchase\s+orders?|orders?|entry|entries|changes?|p-\d+)\b"
)
# A message opening with one of these verbs asks for something other than an ERP lookup.
OTHER_VERB_RE: Final = re.compile(
    r"^(?:book|write|play|sing|draw|compose|plan|schedule|remind|call|text|cook|drive|fly|translate|explain|"
    r"summari[sz]e|calculate|compute|generate|imagine|pretend|act|ignore|forget|repeat|say|print|run|execute|"
    r"install|open|close|turn|set\s+up|configure|reset|restart|shut|hack|give\s+me\s+a|make\s+me)\b"
)
# Write actions this product does not offer (the ones it does are parsed separately).
UNSUPPORTED_WRITE_RE: Final = re.compile(
    r"\b(?:create|add|register|open|onboard|set\s+up|insert|new)\s+(?:a\s+|an\s+)?(?:new\s+)?"
    r"(?:customer|client|supplier|vendor|product|item|sku|account|cost\s+cent(?:er|re)|warehouse)\b|"
    r"\b(?:approve|reject|authori[sz]e)\s+(?:the\s+|this\s+|that\s+|my\s+)?(?:proposal|request|po|"
    r"purchase\s+order|order|entry|change|p-\d+|(?:supplier\s+)?invoice|nf|nota\s+fiscal|fatura)\b|"
    r"\b(?:create|add|register|enter|book|key\s+in|issue|raise)\s+(?:a\s+|an\s+|the\s+)?(?:new\s+)?"
    r"(?:supplier\s+)?(?:invoice|nf|nota\s+fiscal|fatura)\b|"
    r"\b(?:pay|settle)\s+(?:the\s+|an?\s+)?(?:invoice|bill|supplier|vendor)\b|"
    r"\b(?:pay|settle)\b[^.?!]{0,120}\b(?:invoices?|bills?)\b|"
    r"\b(?:receive|receipt)\s+(?:the\s+)?(?:po|purchase\s+order|goods|delivery)\b|"
    r"\b(?:un)?block\s+(?:the\s+)?(?:customer|client|supplier|vendor|product|account|c\d{5}|f\d{5})\b|"
    r"\b(?:release|lift|remove)\s+(?:the\s+)?credit\s+hold\b|"
    r"\b(?:invoice|bill)\s+(?:the\s+)?(?:customer|order|sales\s+order)\b|"
    r"\b(?:change|update|edit|modify|fix)\s+(?:the\s+)?(?:address|e-?mail|phone|name|tax\s+id|"
    r"description|memo)\b|"
    r"\b(?:adjust|write\s+off|transfer)\s+(?:the\s+)?stock\b|\bstock\s+(?:adjustment|transfer)\b"
)

# ---- intents: verbs --------------------------------------------------------------------------------
UP_VERBS: Final = frozenset(
    {
        "raise",
        "raised",
        "raising",
        "increase",
        "increased",
        "increasing",
        "bump",
        "bumped",
        "up",
        "lift",
        "boost",
        "extend",
        "grow",
        "add",
        "hike",
        "expand",
        "top up",
        "augment",
        "higher",
        "mark up",
        "markup",
        "uplift",
        "go up",
        "bring up",
        "push up",
        "improve",
    }
)
DOWN_VERBS: Final = frozenset(
    {
        "lower",
        "lowered",
        "reduce",
        "reduced",
        "reducing",
        "decrease",
        "decreased",
        "cut",
        "drop",
        "trim",
        "shrink",
        "slash",
        "take down",
        "bring down",
        "downgrade",
        "tighten",
        "mark down",
        "markdown",
        "discount",
        "go down",
        "knock down",
        "lessen",
        "deduct",
        "subtract",
        "remove",
    }
)
SET_VERBS: Final = frozenset(
    {
        "set",
        "change",
        "changed",
        "update",
        "make",
        "adjust",
        "put",
        "move",
        "give",
        "grant",
        "modify",
        "amend",
        "revise",
        "fix",
        "correct",
        "bring",
        "reset",
        "establish",
        "define",
        "alter",
        "approve",
        "allow",
        "reprice",
        "re-price",
        "should be",
        "needs to be",
        "must be",
    }
)
FACTOR_WORDS: Final = {"double": 2, "triple": 3, "quadruple": 4, "halve": 0.5, "half": 0.5}
CHANGE_VERB_RE: Final = re.compile(
    r"\b" + alternation(UP_VERBS | DOWN_VERBS | SET_VERBS | frozenset(FACTOR_WORDS)) + r"\b"
)
UP_RE: Final = re.compile(r"\b" + alternation(UP_VERBS) + r"\b")
DOWN_RE: Final = re.compile(r"\b" + alternation(DOWN_VERBS) + r"\b")
FACTOR_RE: Final = re.compile(r"\b(double|triple|quadruple|halve|in\s+half)\b")

CANCEL_RE: Final = re.compile(
    r"\b(?:cancel+(?:l?ed|l?ing|ation)?|void(?:ed)?|annul(?:led)?|call\s+off|scrap|revoke|kill|"
    r"abort|withdraw|back\s+out\s+of|undo|cancela(?:r|do|da)?|cancele|anul(?:a|ar|e)|cancelamento)\b"
)
PURCHASE_CREATE_RE: Final = re.compile(
    r"\b(?:raise|create|make|place|open|issue|send|draft|prepare|put\s+in|put\s+through|submit|"
    r"file|start|generate|set\s+up|cut|do|book|log|enter|new)\s+(?:me\s+|us\s+)?(?:a|an|the|one|new)?\s*"
    r"(?:new\s+)?(?:purchase\s+order|purchase|po|p\.o\.|order|requisition|buy\s+order)\b"
    r"(?!s\b|\s*(?:#|no\.?|number)?\s*\d{3,})"
)
PURCHASE_VERB_RE: Final = re.compile(
    r"(?:^|[,;:.!]\s*|\band\s+|\bto\s+|\bplease\s+|\bcan\s+you\s+|\bcould\s+you\s+|\bwe\s+should\s+|"
    r"\bneed\s+to\s+|\bwant\s+to\s+|\blike\s+to\s+|\blet'?s\s+|\bgo\s+ahead\s+and\s+)"
    r"(?P<verb>order|buy|purchase|procure|reorder|re-order|restock|re-stock|replenish|requisition|"
    r"source|acquire|get\s+(?:us|me)|grab|pick\s+up|stock\s+up\s+on|(?:send|ship|deliver|supply|bring)\s+(?:us|me)|"
    r"get(?=\s+(?:\d+|a\s+(?:dozen|couple|pair|hundred)|an?\s+(?:extra|additional)|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|dozen)\b))\b(?!\s*(?:s\b|#|number|no\b|status|history))"
)
NEED_RE: Final = re.compile(
    r"\b(?:(?:we|i)(?:'re|'m|\s+are|\s+am)?\s+)?(?:need|require|want|are\s+out\s+of|ran\s+out\s+of|"
    r"(?:are\s+|is\s+)?running\s+(?:low|out)\s+(?:on|of)|short\s+of|low\s+on|out\s+of)\b"
)
JOURNAL_RE: Final = re.compile(r"\b(?:journal(?:\s+entry)?|je|entry|entries|lancamento|ledger\s+entry)\b")
SIDE_RE: Final = re.compile(
    r"\b(?P<side>debit(?:ing|ed)?|dr|credit(?:ing|ed)?|cr)\b\.?(?!\s*(?:limit|line|hold|note|card|score|rating|memo|terms))"
)
BOOKING_VERB_RE: Final = re.compile(
    r"\b(?:book|booked|post|posted|record|recorded|accrue|accrued|register|registered|log|logged|"
    r"enter|expense|expensed|pay|paid|transfer|transferred|move|moved|charge|charged|spent|spend)\b"
)
ACCOUNTING_NOUN_RE: Final = re.compile(
    r"\b(?:account|acct|a/c|bank|cash|expense|expenses|payable|payables|receivable|receivables|"
    r"revenue|income|freight|ledger|accrual|petty\s+cash)\b"
)

# ---- read topics ---------------------------------------------------------------------------------
READ_VERB_RE: Final = re.compile(
    r"^(?:show|list|display|give|tell|find|search|look|lookup|get|fetch|pull|check|see|view|what|what'?s|"
    r"whats|which|who|whose|where|when|how|is|are|does|do|did|can\s+you\s+(?:show|tell|list|find|check)|"
    r"any|report|print|summari[sz]e|i\s+want\s+to\s+(?:see|know)|let\s+me\s+(?:see|know))\b"
)
LISTING_RE: Final = re.compile(
    r"\b(?:search|find|list|lookup|look\s+up|look\s+for|which|any|all|every|browse|matching|named|called|"
    r"containing|with\s+names?\s+like)\b|"
    r"\b(?:customers|clients|suppliers|vendors|products|items|skus|accounts)\b"
)
STOCK_RE: Final = re.compile(
    r"\b(?:stock|stocks|inventory|on\s+hand|in\s+stock|availability|available\s+quantity|how\s+many|"
    r"units\s+left|left\s+in\s+(?:the\s+)?warehouse|warehouse|reorder\s+point|re-order\s+point|estoque|"
    r"quantity\s+available|qty|low\s+on|running\s+low|running\s+out|out\s+of|enough|short\s+of|available(?!\s+(?:credit|budget|to\s+spend|limit|balance|funds|money)))\b"
)
BUDGET_RE: Final = re.compile(
    r"\b(?:budget|budgets|cost\s+cent(?:er|re)s?|cc[-\s]?\d{2,4}|spend|spent|committed|"
    r"how\s+much\s+(?:money\s+)?(?:is\s+|do\s+we\s+have\s+|have\s+we\s+got\s+)?(?:left|remaining|available)|"
    r"available\s+to\s+spend|orcamento)\b"
)
BALANCE_RE: Final = re.compile(r"\b(?:balance|balances|saldo|ledger|gl|trial\s+balance)\b")
ACCOUNT_RE: Final = re.compile(r"\b(?:accounts?|acct|a/c|chart\s+of\s+accounts|gl)\b")
SALES_ORDER_RE: Final = re.compile(
    r"\b(?:sales\s+orders?|sale\s+orders?|sos|so|customer\s+orders?|orders?|pedidos?|backlog)\b"
)
PURCHASE_ORDER_RE: Final = re.compile(
    r"\b(?:purchase\s+orders?|pos|po|p\.o\.s?|purchases|supplier\s+orders?|vendor\s+orders?|"
    r"pedidos?\s+de\s+compras?|ordens?\s+de\s+compras?|"
    r"orders?\s+(?:to|with|placed\s+with)\s+(?:supplier|vendor))\b"
)
ORDER_NUMBER_RE: Final = re.compile(
    r"(?:(?P<kind>sales\s+orders?|sale\s+orders?|purchase\s+orders?|pedidos?\s+de\s+compra|pedidos?\s+de\s+venda|"
    r"ordem\s+de\s+compra|orders?|so|po|p\.o\.|pedidos?)\s*"
    r"(?:#|no\.?|number|num|nr\.?|n[o\u00ba\u00b0])?\s*:?\s*#?\s*(?P<num>\d{1,10})\b)|(?:#\s?(?P<hash>\d{1,10})\b)"
)
# The ``kind`` of an ORDER_NUMBER_RE match that names a purchase order (the rest are sales orders).
PURCHASE_KIND_RE: Final = re.compile(r"^(?:purchase|po|p\.o|pedido\s+de\s+compra|ordem\s+de\s+compra)")
# Words that name a sales order outright (not just "order").
SALES_KIND_RE: Final = re.compile(r"\b(?:sales?\s+orders?|so|customer\s+orders?|pedidos?\s+de\s+vendas?)\b")

# ---- supplier invoices (nota fiscal de entrada) ------------------------------------------------------
INVOICE_NOUN_RE: Final = re.compile(
    r"\b(?:invoices?|(?:supplier|vendor)\s+bills?|notas?\s+fisca(?:l|is)|nf-?es?|nfs?|faturas?)\b"
)
# An invoice named by number: "invoice 4533", "supplier invoice no. 000004533", "NF-000045",
# "invoice NF 123", "nota fiscal 4533". ``num`` holds the digits.
INVOICE_NUMBER_RE: Final = re.compile(
    r"\b(?:(?:supplier|vendor|purchase)\s+)?(?:invoices?|(?:supplier|vendor)\s+bills?|notas?\s+fisca(?:l|is)|faturas?|"
    r"nf-?e?)"
    r"(?:\s*(?:#|no\.?|number|num|nr\.?|n[o\u00ba\u00b0]|numero)(?![a-z]))?\s*[:#-]?\s*(?:nf-?e?\s*[:#-]?\s*)?"
    r"(?P<num>\d{1,12})\b"
)
# Words asking whether documents agree: "does invoice X match its PO?", "compare ...", "a NF bate?".
MATCH_RE: Final = re.compile(
    r"\b(?:match(?:es|ed|ing)?|mismatch(?:es|ed)?|compar(?:e|es|ed|ing|ison)|agrees?\s+with|lines?\s+up|"
    r"tall(?:y|ies)|reconcil(?:e|es|ed|ing|iation)|differ(?:s|ence|ences|ent)?|discrepanc(?:y|ies)|"
    r"diverg(?:e|es|ence|ent)|consistent|correspond(?:s)?|checks?\s+out|correct(?:ly)?|accurate|"
    r"over-?(?:billed|billing|charged|charging)|bate[mr]?|confere[m]?|conferir|diferen(?:ca|cas|te)|"
    r"divergen(?:cia|cias|te))\b|"
    r"\b(?:check|verify|validate|cross-?check)\b[^.?!]{0,120}\bagainst\b|"
    r"\b(?:is|are|was|were|looks?|seems?)\b[^.?!]{0,120}\b(?:right|wrong|ok|okay|fine|valid)\b"
)

CREDIT_LIMIT_RE: Final = re.compile(
    r"\b(?:credit\s*(?:limit|line|ceiling|cap)s?|limite\s+de\s+credito|limit)\b"
)
PRICE_RE: Final = re.compile(
    r"\b(?:(?:list|selling|sale|sales|unit|retail)\s+)?(?:price|prices|pricing|preco)\b|\breprice\b|"
    r"\bmark\s*-?\s*(?:up|down)\b|\bmarkup\b|\bmarkdown\b|\bdiscount\b|\bcost(?!\s+cent)\b"
)
CUSTOMER_NOUN_RE: Final = re.compile(r"\b(?:customers?|clients?|buyers?|clientes?)\b")
SUPPLIER_NOUN_RE: Final = re.compile(r"\b(?:suppliers?|vendors?|fornecedor(?:es)?|providers?)\b")
PRODUCT_NOUN_RE: Final = re.compile(r"\b(?:products?|items?|skus?|articles?|materials?|produtos?)\b")

SALES_STATUS: Final = {
    "open": "open",
    "opened": "open",
    "pending": "open",
    "outstanding": "open",
    "active": "open",
    "invoiced": "invoiced",
    "billed": "invoiced",
    "closed": "invoiced",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "void": "cancelled",
    "voided": "cancelled",
    "credit hold": "credit_hold",
    "credit-hold": "credit_hold",
    "on hold": "credit_hold",
    "held": "credit_hold",
    "blocked": "credit_hold",
    "hold": "credit_hold",
}
PURCHASE_STATUS: Final = {
    "open": "open",
    "opened": "open",
    "pending": "open",
    "outstanding": "open",
    "active": "open",
    "received": "received",
    "delivered": "received",
    "closed": "received",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "void": "cancelled",
}

# ---- filler words removed from entity phrases -------------------------------------------------------
READ_NOISE: Final = words(
    """
    what what's whats which who whose where when how much many is are was were be been do does did
    have has had got show list display give tell find search look lookup up for get fetch pull check
    see view me us i we our my the a an all any some of in on at to from about with by please pls
    can could would will you kindly current currently now today right there still left remaining
    available availability status details detail info information data record records summary
    overview report level levels quantity qty stock stocks inventory hand that this those these it
    its and or want know need like let tell whether if s anything everything something thing things
    everything info okay ok hi hello hey thanks regarding re concerning please whole full complete
    entire also just exactly currently presently overall total totals called named matching
    containing used use like whose whats going doing happening looking name names low running short
    enough out mostre mostra mostrar liste listar quais qual quero queria ver veja temos existe existem
    gostaria preciso favor
    """
)
ENTITY_PREFIX_NOISE: Final = words(
    """
    the a an our my their this that customer client supplier vendor product item sku account from to
    for of with at by via use using it's its it is try maybe then mean meant i go pick choose select
    take want like please ok okay yes yeah sure called named one company firm and charge on under
    against in
    """
)
ENTITY_SUFFIX_NOISE: Final = words(
    """
    please pls thanks thank you asap urgently urgent today now instead then one account customer
    client supplier vendor product item s 's again too also the a an and of for to from with as well
    here there ok okay cc cost center centre budget
    """
)
UNIT_WORDS: Final = words(
    """
    units unit pcs pc pieces piece un ea each x boxes box packs pack packages package cartons carton
    rolls roll cases case bags bag pairs pair sets set lots more additional extra new of some qty
    quantity ct count reams ream kits kit
    """
)
ITEM_NOISE: Final = words(
    """
    please pls asap urgently urgent today now thanks thank you them it these those get buy order
    send deliver delivered ship shipped need we i us me a an the for to purchase po also too again
    tomorrow this week next by right away in stock our some more new quickly soon as possible
    soonest can could would place raise create make that is all and with from on order:
    """
)
JOURNAL_NOISE: Final = words(
    """
    of for in as to on the a an and from our into account: acct with then by against using via paid
    out amount total sum value payment payments invoice bill debit credit dr cr entry journal je
    post book record some this that
    """
)
SOFT_MATCH_WORDS: Final = words(
    """
    account acct expense expenses cost costs ltda sa s.a inc ltd llc co corp company brasil brazil
    do da de dos das e
    """
)
MATCH_STOPWORDS: Final = words(
    """
    the a an of our my some for and with please x to in on at by from & - mm size
    """
)
REASON_RE: Final = re.compile(
    r"(?:\bbecause(?:\s+of)?\b|\bbc\b|\bcause\b|\bsince\b|\bdue\s+to\b|\bowing\s+to\b|\bas\s+(?!of\b|well\b|"
    r"soon\b|much\b|many\b|per\b|a\s+(?:percentage|result)\b)|\bgiven\s+that\b|\breason\s*(?:is|being|:|=|-)?|"
    r"\bporque\b|\bpois\b|\bdevido\s+a\b|\bpor\s+causa\s+d[eao]s?\b|\bmotivo\s*(?:e|:|=|-)?|"
    r"\bjustification\s*:?|\bwhy\s*:|\bon\s+account\s+of\b|\bin\s+order\s+to\b|\bso\s+that\b)"
)
MEMO_RE: Final = re.compile(
    r"\b(?:memo|note|notes|comment|comments|remark|remarks|reference|ref|obs|observation|"
    r"with\s+(?:the\s+)?(?:memo|note))\b\s*[:=-]?\s*"
)
DESCRIPTION_RE: Final = re.compile(
    r"\b(?:description|desc|narration|narrative|memo|note|history|historico|label|text|"
    r"with\s+(?:the\s+)?(?:description|memo|note))\b\s*[:=-]?\s*"
)

# A sentence after the instruction that gives its context ("Reason: the ERP reports: ...").
CONTEXT_LEAD_RE: Final = re.compile(
    r"(?:(?:the\s+)?(?:reasons?|context|background|why|justification|explanation|rationale|motivo|razao|"
    r"contexto|justificativa)\s*(?:[:=-]|\bis\b|\bbeing\b|\be\b)|for\s+(?:context|reference|background)\b|"
    r"(?:because|since|fyi|porque|pois|devido)\b|the\s+erp\s+(?:reports|reported|says|said|flagged|shows)\b)"
)
CONTEXT_CONJUNCTION_RE: Final = re.compile(r"(?:because|since|porque|pois|devido)\b")
# The part of a context lead that is only a label ("Reason:", "Because"), dropped from the value.
CONTEXT_LABEL_RE: Final = re.compile(
    r"^(?:(?:the\s+)?(?:reasons?|context|background|why|justification|explanation|rationale|motivo|razao|"
    r"contexto|justificativa)\s*(?:[:=-]|\bis\b|\bbeing\b|\be\b)|for\s+(?:context|reference|background)\b"
    r"\s*[:,-]?|(?:because|since|fyi|porque|pois)\b\s*[:,-]?)\s*"
)
