"""Caller goals for `callcenter bench tasks`: who calls, what they want, the end state.

Each goal is played by the reactive caller (:mod:`callcenter.bench.task_caller`) and
judged by :mod:`callcenter.scenarios.judge` from the database after the call, as
τ²-bench judges its tasks: by the end state and by policy, not by the wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.bench.voices import DIGIT_WORDS

SPOKEN_DIGIT = {digit: word for word, digit in DIGIT_WORDS.items() if word != "oh"}


def spell(digits: str) -> str:
    """ "1001" -> "one zero zero one" (how callers say account numbers and PINs)."""
    return " ".join(SPOKEN_DIGIT[d] for d in digits)


@dataclass(frozen=True)
class Persona:
    """The caller's identity and habits."""

    account: str = "1001"
    pin: str = "4321"
    date_of_birth: str = "March seventh, nineteen eighty four"
    prefers_date_of_birth: bool = False  # offers the date of birth when asked for the PIN
    keypad: bool = False  # keys the account number and PIN instead of saying them
    # Said instead of the right PIN, one per ask (a caller who does not remember it).
    wrong_pins: tuple[str, ...] = ()
    # Said the first time the account number is asked (a slip), corrected on read-back.
    first_account: str | None = None
    # Has no account number and PIN at hand (the unverified caller).
    no_identity: bool = False


DANA = Persona()
MARCUS = Persona("1002", "8642", "the twenty first of November, nineteen ninety")
PRIYA = Persona("1003", "1357", "June thirtieth, nineteen seventy five")


@dataclass(frozen=True)
class Expected:
    """The end state a successful call leaves, and what the caller must have heard."""

    verified: str | None = None  # the account the call must verify (None: any or none)
    unverified: bool = False  # no account may be verified in the call
    card_status: str | None = None  # the persona's card at the end (None: unchanged)
    # The persona's new address: (line-1 words, city, postal code); None: unchanged.
    address: tuple[str, str, str] | None = None
    payment: tuple[str, str] | None = None  # (amount "40.00", a word of the payee)
    callback: bool = False
    handoff: bool = False
    # Each group: the agent must have said at least one of these (words, lower case).
    said: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Goal:
    name: str
    family: str  # for the chart: balance, transactions, card, address, payment, ...
    persona: Persona
    # What the caller asks for, in order: the first after the greeting, the next ones
    # each time the agent asks whether there is anything else.
    requests: tuple[str, ...]
    expected: Expected
    # Answers to the agent's questions about the task (slot name -> spoken answer):
    # reason, street, city, region, postal_code, amount, payee, time.
    answers: dict[str, str] = field(default_factory=dict)
    # (word the agent says, what the caller says instead): switching task mid-flow.
    switch: tuple[str, str] | None = None
    decline_read_back: bool = False  # says no when the change is read back
    quick: bool = False  # part of the --quick subset


# How a caller says the same thing again when the agent did not catch it.
REPHRASE: dict[str, tuple[str, ...]] = {
    "I lost it.": ("I lost my card.", "Lost. I lost it."),
    "It was stolen.": ("Somebody stole it.", "Stolen. It was stolen."),
    "Twelve Main Street.": ("Number twelve, Main Street.", "Ten Main Street."),
    "New York.": ("New York City.",),
    "Portland General Electric.": ("The electric company, Portland General Electric.",),
    "Twenty five dollars.": ("Twenty five.", "Twenty five dollars, please."),
    "Tomorrow at 3 PM.": ("Tomorrow afternoon at three.", "Tomorrow at three PM."),
}

BALANCE_1001 = ("2,417.35", "2417.35", "2417", "two thousand four hundred")
BALANCE_1002 = ("158.09", "158", "one hundred fifty")
TX_1001 = ("grocery", "payroll", "84.12", "electric", "coffee", "savings")
TX_1002 = ("transit", "books", "2.50", "23.99")
TX_1003 = ("rent", "salary", "2,800", "5,100", "2800", "5100")
# Words espeak-ng says clearly enough for tiny.en on a phone line (many city and state
# names are not: "Salem" -> "Hey, Lim", "Idaho" -> "I don't know").
NEW_ADDRESS = {
    "street": "Twelve Main Street.",
    "city": "New York.",
    "region": "New York.",
    "postal_code": "zero two one one zero",
}
NEW_ADDRESS_2 = {
    "street": "Twelve Main Street.",
    "city": "Washington.",
    "region": "Ohio.",
    "postal_code": "eight six four two one",
}

GOALS: tuple[Goal, ...] = (
    Goal(
        "balance",
        "balance",
        DANA,
        ("I'd like to check my balance, please.",),
        Expected(verified="1001", said=(BALANCE_1001,)),
        quick=True,
    ),
    Goal(
        "balance-date-of-birth",
        "balance",
        Persona(MARCUS.account, MARCUS.pin, MARCUS.date_of_birth, prefers_date_of_birth=True),
        ("What is my account balance?",),
        Expected(verified="1002", said=(BALANCE_1002,)),
    ),
    Goal(
        "balance-keypad",
        "keypad",
        Persona(keypad=True),
        ("Can you tell me my balance?",),
        Expected(verified="1001", said=(BALANCE_1001,)),
        quick=True,
    ),
    Goal(
        "transactions",
        "transactions",
        DANA,
        ("What are my recent transactions?",),
        Expected(verified="1001", said=(TX_1001,)),
        quick=True,
    ),
    Goal(
        "transactions-keypad",
        "keypad",
        Persona(MARCUS.account, MARCUS.pin, MARCUS.date_of_birth, keypad=True),
        ("I want to hear my last transactions.",),
        Expected(verified="1002", said=(TX_1002,)),
    ),
    Goal(
        "transactions-priya",
        "transactions",
        PRIYA,
        ("Could you read me my latest transactions?",),
        Expected(verified="1003", said=(TX_1003,)),
    ),
    Goal(
        "block-lost-card",
        "card",
        DANA,
        ("I lost my card and need to block it.",),
        Expected(verified="1001", card_status="blocked_lost"),
        answers={"reason": "I lost it."},
        quick=True,
    ),
    Goal(
        "block-stolen-card",
        "card",
        MARCUS,
        ("My card was stolen, please block it.",),
        Expected(verified="1002", card_status="blocked_stolen"),
        answers={"reason": "It was stolen."},
    ),
    Goal(
        "block-card-priya",
        "card",
        PRIYA,
        ("I can't find my debit card. Can you block it?",),
        Expected(verified="1003", card_status="blocked_lost"),
        answers={"reason": "I lost it."},
    ),
    Goal(
        "change-address",
        "address",
        Persona(prefers_date_of_birth=True),
        ("I moved house and need to change my address.",),
        Expected(verified="1001", address=("main", "new york", "02110")),
        answers=NEW_ADDRESS,
        quick=True,
    ),
    Goal(
        "change-address-priya",
        "address",
        Persona(PRIYA.account, PRIYA.pin, PRIYA.date_of_birth, prefers_date_of_birth=True),
        ("I need to update my postal address.",),
        Expected(verified="1003", address=("main", "washington", "86421")),
        answers=NEW_ADDRESS_2,
    ),
    Goal(
        "payment",
        "payment",
        DANA,
        ("I want to pay my electricity bill.",),
        Expected(verified="1001", payment=("25.00", "electric")),
        answers={"amount": "Twenty five dollars.", "payee": "Portland General Electric."},
        quick=True,
    ),
    Goal(
        "payment-marcus",
        "payment",
        MARCUS,
        ("I'd like to make a payment to Metro Transit.",),
        Expected(verified="1002", payment=("25.00", "transit")),
        answers={"amount": "Twenty five dollars.", "payee": "Metro Transit."},
    ),
    Goal(
        "payment-declined-at-read-back",
        "payment",
        DANA,
        ("I want to pay a bill.",),
        Expected(verified="1001"),
        answers={"amount": "Twenty five dollars.", "payee": "Metro Transit."},
        decline_read_back=True,
    ),
    Goal(
        "callback",
        "callback",
        DANA,
        ("Can someone call me back tomorrow afternoon?",),
        Expected(callback=True),
        answers={"time": "Tomorrow at 3 PM."},
        quick=True,
    ),
    Goal(
        "callback-marcus",
        "callback",
        MARCUS,
        ("Please schedule a callback.",),
        Expected(callback=True),
        answers={"time": "Tomorrow at 3 PM."},
    ),
    Goal(
        "ask-for-a-person",
        "handoff",
        DANA,
        ("I'd like to speak to a real person, please.",),
        Expected(handoff=True),
    ),
    Goal(
        "wrong-pin-handoff",
        "handoff",
        Persona(wrong_pins=("9999", "1111", "2222", "5555")),
        ("I want to check my balance.",),
        Expected(handoff=True, unverified=True),
        quick=True,
    ),
    Goal(
        "corrects-misheard-account",
        "correction",
        Persona(first_account="1007"),
        ("What's my balance?",),
        Expected(verified="1001", said=(BALANCE_1001,)),
    ),
    Goal(
        "switches-payment-to-balance",
        "switch",
        DANA,
        ("I want to make a payment.",),
        Expected(verified="1001", said=(BALANCE_1001,)),
        switch=("who would you like", "Actually, forget the payment. What's my balance?"),
    ),
    Goal(
        "switches-address-to-transactions",
        "switch",
        DANA,
        ("I need to change my address.",),
        Expected(verified="1001", said=(TX_1001,)),
        switch=(
            "street address",
            "Sorry, never mind that. Tell me my recent transactions instead.",
        ),
    ),
    Goal(
        "balance-then-transactions",
        "multi",
        DANA,
        ("What's my balance?", "And my recent transactions, please."),
        Expected(verified="1001", said=(BALANCE_1001, TX_1001)),
    ),
    Goal(
        "balance-then-block-card",
        "multi",
        MARCUS,
        ("Can you tell me my balance?", "Also my card was stolen, please block it."),
        Expected(verified="1002", card_status="blocked_stolen", said=(BALANCE_1002,)),
        answers={"reason": "It was stolen."},
    ),
    Goal(
        "unverified-balance",
        "policy",
        Persona(no_identity=True),
        ("Just tell me how much money is in my account.",),
        Expected(unverified=True),
        quick=True,
    ),
    Goal(
        "opening-hours",
        "question",
        DANA,
        ("What are your opening hours?",),
        Expected(said=(("monday", "friday", "8 am", "eight"),)),
        quick=True,
    ),
    Goal(
        "fees",
        "question",
        DANA,
        ("Do you charge a monthly fee on checking accounts?",),
        Expected(said=(("fee",),)),
    ),
    Goal(
        "branches",
        "question",
        DANA,
        ("Where is your nearest branch?",),
        Expected(said=(("branch", "branches"),)),
    ),
    Goal(
        "what-can-you-do",
        "question",
        DANA,
        ("What can you help me with?",),
        Expected(said=(("balance", "card", "payment", "address", "transactions"),)),
    ),
    Goal(
        "hours-then-balance",
        "multi",
        DANA,
        ("When are you open on Saturday?", "Okay. And what's my balance?"),
        Expected(verified="1001", said=(("saturday",), BALANCE_1001)),
    ),
)


def select_goals(spec: str | None, *, quick: bool) -> list[Goal]:
    """Goals by name or family (comma-separated), the quick subset, or all."""
    chosen = [goal for goal in GOALS if goal.quick] if quick else list(GOALS)
    if not spec:
        return chosen
    wanted = {part.strip() for part in spec.split(",") if part.strip()}
    known = {goal.name for goal in GOALS} | {goal.family for goal in GOALS}
    if wanted - known:
        raise ValueError(f"unknown goal(s) {sorted(wanted - known)}; known: {sorted(known)}")
    return [goal for goal in chosen if goal.name in wanted or goal.family in wanted]
