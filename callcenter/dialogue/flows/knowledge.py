"""The knowledge base: short articles admins edit and publish in the console (prompts named
``kb_*``), retrieved per question by word overlap (BM25), and answered only from them.

With no article above the threshold the agent says it does not know and offers a person:
a small model asked an open question invents (opening hours, fees), so it is never asked
one without the article in front of it, and by default it is not asked at all: the answer
is the article's best-matching sentences, said as written.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from string import Template

from callcenter.dialogue.prompts import PromptSet
from callcenter.store.prompts import KNOWLEDGE_PREFIX

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "about",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "should",
        "will",
        "i",
        "you",
        "we",
        "my",
        "your",
        "our",
        "me",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "what",
        "when",
        "where",
        "how",
        "why",
        "which",
        "who",
        "there",
        "here",
        "have",
        "has",
        "had",
        "please",
        "tell",
        "know",
        "want",
        "like",
        "get",
        "any",
        "some",
        "just",
        "so",
        "much",
        "many",
        "much",
        "may",
        "hi",
        "hello",
        "thanks",
        "thank",
        "okay",
        "ok",
        "yes",
        "no",
        "not",
        "am",
        "im",
        "i'm",
        "youre",
        "i'd",
        "id",
        "need",
        "change",
        "check",
        "make",
        "update",
        "give",
        # Every question to a bank is about an account or the bank: they find no article.
        "account",
        "bank",
    ]
)
# A caller's word for the same thing ("open" / "hours", "cost" / "fee").
_SYNONYMS = {
    "open": "hour", "opening": "hour", "close": "hour", "closing": "hour", "time": "hour",
    "cost": "fee", "charge": "fee", "price": "fee", "costs": "fee", "expensive": "fee",
    "location": "branch", "office": "branch", "near": "branch", "nearest": "branch",
    "atm": "atm", "cash": "atm", "machine": "atm", "help": "assistant", "assist": "assistant",
    "service": "assistant", "option": "assistant",
    "app": "mobile", "website": "online", "internet": "online", "password": "online",
    "rate": "interest", "saving": "savings",
}  # fmt: skip
# Phrases whose words mean something else together: "open an account" is not "hours".
_PHRASES = (
    (
        re.compile(r"\bopen(?:ing)? (?:up )?(?:a |an )?(?:new )?(?:\w+ ){0,3}?account\b"),
        " enrolment ",
    ),
)
SENTENCE = re.compile(r"(?<=[.!?])\s+")


def terms(text: str) -> list[str]:
    out = []
    lowered = text.lower()
    for pattern, replacement in _PHRASES:
        lowered = pattern.sub(replacement, lowered)
    for word in _WORD.findall(lowered):
        if word in _STOP:
            continue
        stem = (
            word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
        )
        out.append(_SYNONYMS.get(stem, _SYNONYMS.get(word, stem)))
    return out


@dataclass(frozen=True)
class Article:
    name: str
    title: str
    body: str  # variables already filled in

    @property
    def text(self) -> str:
        return f"{self.title}. {self.body}"


@dataclass(frozen=True)
class Match:
    article: Article
    score: float


class KnowledgeBase:
    def __init__(self, articles: list[Article], *, threshold: float = 1.2) -> None:
        self.articles = articles
        self.threshold = threshold
        self._docs = [Counter(terms(a.text)) for a in articles]
        lengths = [sum(doc.values()) for doc in self._docs] or [1]
        self._avg = sum(lengths) / len(lengths)
        count = len(articles)
        seen: Counter[str] = Counter()
        for doc in self._docs:
            seen.update(set(doc))
        self._idf = {t: math.log(1 + (count - n + 0.5) / (n + 0.5)) for t, n in seen.items()}

    @classmethod
    def from_prompts(cls, prompts: PromptSet) -> KnowledgeBase:
        articles = []
        for name in sorted(prompts.bodies):
            if not name.startswith(KNOWLEDGE_PREFIX):
                continue
            raw = Template(prompts.bodies[name]).safe_substitute(prompts.variables).strip()
            first, _, rest = raw.partition("\n")
            title = first.lstrip("# ").strip() if first.startswith("#") else name
            body = rest.strip() if first.startswith("#") else raw
            articles.append(Article(name, title, " ".join(body.split())))
        return cls(articles)

    def sentences(self) -> list[str]:
        """Every sentence an answer can be made of (answers are article sentences said as
        written): fixed text, synthesised once and then played from the phrase cache."""
        return [s.strip() for a in self.articles for s in SENTENCE.split(a.body) if s.strip()]

    def search(self, question: str) -> Match | None:
        """The best article for the question, if it is relevant enough."""
        query = set(terms(question))
        best: Match | None = None
        for article, doc in zip(self.articles, self._docs, strict=True):
            length = sum(doc.values())
            score = 0.0
            for term in query:
                tf = doc.get(term, 0)
                if tf:
                    norm = tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / self._avg))
                    score += self._idf.get(term, 0.0) * norm
            if best is None or score > best.score:
                best = Match(article, score)
        return best if best is not None and best.score >= self.threshold else None


def extract_answer(question: str, article: Article, *, max_sentences: int = 2) -> str:
    """The article's sentences that best answer the question, in article order."""
    sentences = [s.strip() for s in SENTENCE.split(article.body) if s.strip()]
    if not sentences:
        return article.body
    query = set(terms(question))
    scored = [(len(query & set(terms(s))), i) for i, s in enumerate(sentences)]
    chosen = sorted(i for hits, i in sorted(scored, reverse=True)[:max_sentences] if hits > 0)
    if not chosen:
        chosen = [0]
    return " ".join(sentences[i] for i in chosen)


GROUNDED_SYSTEM = (
    "You answer a bank caller's question on the phone, in one or two short spoken "
    "sentences, using ONLY the article below. If the article does not answer it, say you "
    "don't know and offer to connect them with a colleague. Never add numbers, times or "
    "facts that are not in the article.\n\nArticle: {article}"
)
