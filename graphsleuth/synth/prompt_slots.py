"""The values that fill a template's slots: names, numbers, quoted text, products, code, URLs, dates, maths.

Built once per seed (Faker for names), then drawn with numpy.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pyarrow as pa

__all__ = ["slot_pools", "SLOT_KINDS"]

#: Slot kinds a template may contain, written ``{kind}`` in the template text.
SLOT_KINDS = ("num", "name", "quote", "product", "code", "url", "date", "math")


_QUOTE_SUBJECTS = [
    "The delivery",
    "My order",
    "The new update",
    "Our meeting",
    "The app",
    "This invoice",
    "The hotel room",
    "The printer",
    "My account",
    "The report",
    "Our website",
    "The last shipment",
    "The refund",
    "The login page",
    "The battery",
    "The contract",
]
_QUOTE_PREDICATES = [
    "arrived two days late",
    "keeps crashing when I open settings",
    "was charged twice",
    "looks different from the photos",
    "has not been confirmed yet",
    "stopped working after a week",
    "is missing several items",
    "was much better than expected",
    "needs to be moved to next week",
    "shows the wrong total",
    "cannot be found in the system",
    "was cancelled without notice",
    "explains the causes of inflation badly",
    "claims the moon landing happened in a studio",
]
_QUOTE_TAILS = [
    "",
    " and nobody has replied",
    ", which is frustrating",
    ". Can someone look into it",
    ". Thanks for the quick help",
    " and I would like a refund",
    ", so please advise",
    ". Is that normal",
    ", according to the support page",
]
_QUOTE_QUESTIONS = [
    "Why is the sky blue?",
    "How do tides work?",
    "What causes inflation?",
    "Is it safe to eat raw cookie dough?",
    "Why do cats purr?",
    "How does a bill become law?",
    "What is the difference between weather and climate?",
    "How do noise cancelling headphones work?",
    "Why did the Roman Empire fall?",
    "What makes a good password?",
]
_BRANDS = [
    "Norvik",
    "Altura",
    "Brightwell",
    "Kestrel",
    "Lumora",
    "Vantix",
    "Orrin",
    "Solace",
    "Tidewater",
    "Quenby",
    "Harlow",
    "Zephra",
    "Maplin",
    "Corvane",
    "Ostara",
    "Pellman",
]
_PRODUCT_LINES = [
    "AirLite",
    "ProBlend",
    "Cascade",
    "Nimbus",
    "Everfresh",
    "Trailmark",
    "Duo",
    "Summit",
    "Halo",
    "Pulse",
    "Terra",
    "Vista",
]
_PRODUCT_KINDS = [
    "Headphones",
    "Blender",
    "Kettle",
    "Backpack",
    "Desk Lamp",
    "Air Purifier",
    "Running Shoes",
    "Coffee Grinder",
    "Smart Watch",
    "Office Chair",
    "Robot Vacuum",
    "Water Bottle",
]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
_IDENTIFIERS = ["total", "items", "price", "count", "user", "orders", "result", "values", "score", "rows", "amount", "names"]
_FUNCTIONS = [
    "compute_total",
    "load_users",
    "parse_row",
    "merge_lists",
    "apply_discount",
    "count_words",
    "find_max",
    "clean_text",
    "average",
    "group_by_day",
]
_TABLES = ["orders", "customers", "payments", "events", "sessions", "invoices"]

_MATH_SYMBOLIC = [
    "Solve for x: {a}x + {b} = {c}.",
    "Find the roots of x^2 - {a}x + {b} = 0.",
    "Compute {a} * {b} - {c}.",
    "Evaluate the integral of {a}x^2 + {b}x from 0 to {c}.",
    "Simplify ({a}x + {b})({c}x - {d}).",
    "What is {a}% of {b}?",
    "Differentiate {a}x^3 - {b}x + {c}.",
]
_MATH_WORDED = [
    "A train travels {a} km in {b} hours. What is its average speed?",
    "A rectangle is {a} cm long and {b} cm wide. Find its area and perimeter.",
    "If {a} workers build a wall in {b} days, how long would {c} workers take?",
    "A bank account pays {a}% interest per year. How much is {b} dollars worth after {c} years?",
    "How many ways can {a} people sit around a round table?",
    "A recipe needs {a} grams of flour for {b} cookies. How much flour is needed for {c} cookies?",
    "A shop sells pens at {a} for {b} dollars. How much do {c} pens cost?",
]


def _code_snippets(rng: np.random.Generator, n: int) -> list[str]:
    """A few-line Python, JavaScript or SQL snippet per entry, half of them fenced."""
    out = []
    for _ in range(n):
        a, b = rng.choice(_IDENTIFIERS, 2, replace=False)
        fn = rng.choice(_FUNCTIONS)
        k = int(rng.integers(2, 500))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            lines = [f"def {fn}({a}, {b}):", f"    {a} = {a} + {b} * {k}", f"    return {a}"]
            lang = "python"
        elif kind == 1:
            lines = [f"def {fn}({a}):", f"    for x in {a}:", f"        if x > {k}:", "            return x", "    return None"]
            lang = "python"
        elif kind == 2:
            lines = [f"function {fn}({a}) {{", f"  const {b} = {a}.filter(x => x > {k});", f"  return {b}.length;", "}"]
            lang = "javascript"
        else:
            t = rng.choice(_TABLES)
            lines = [f"SELECT {a}, COUNT(*) FROM {t}", f"WHERE created_at > '2024-0{k % 9 + 1}-1{k % 10}'", f"GROUP BY {a};"]
            lang = "sql"
        body = "\n".join(lines)
        out.append(f"```{lang}\n{body}\n```" if rng.random() < 0.5 else body)
    return out


def _math_problems(rng: np.random.Generator, n: int) -> list[str]:
    """Maths problems: half symbolic equations, half short word problems."""
    out = []
    for _ in range(n):
        forms = _MATH_SYMBOLIC if rng.random() < 0.5 else _MATH_WORDED
        form = forms[int(rng.integers(len(forms)))]
        a, b, c, d = (int(v) for v in rng.integers(2, 60, 4))
        out.append(form.format(a=a, b=b, c=c, d=d))
    return out


def _numbers(rng: np.random.Generator, n: int) -> list[str]:
    """Numbers as people write them: small counts, thousands with commas, decimals, percents."""
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.5:
            out.append(str(int(rng.integers(2, 21))))
        elif kind < 0.75:
            out.append(str(int(rng.integers(21, 1000))))
        elif kind < 0.85:
            out.append(f"{int(rng.integers(1000, 100000)):,}")
        elif kind < 0.95:
            out.append(f"{rng.uniform(1, 100):.2f}")
        else:
            out.append(f"{int(rng.integers(1, 100))}%")
    return out


def _dates(rng: np.random.Generator, n: int) -> list[str]:
    """Dates in the four formats people use most."""
    out = []
    for _ in range(n):
        y, m, d = int(rng.integers(2023, 2027)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        kind = int(rng.integers(4))
        if kind == 0:
            out.append(f"{_MONTHS[m - 1]} {d}, {y}")
        elif kind == 1:
            out.append(f"{d} {_MONTHS[m - 1]} {y}")
        elif kind == 2:
            out.append(f"{y}-{m:02d}-{d:02d}")
        else:
            out.append(f"{m:02d}/{d:02d}/{y}")
    return out


def _quotes(rng: np.random.Generator, n: int) -> list[str]:
    """Quoted user text: complaints, notes and questions, in straight or curly quotes."""
    out = []
    for _ in range(n):
        if rng.random() < 0.2:
            body = _QUOTE_QUESTIONS[int(rng.integers(len(_QUOTE_QUESTIONS)))]
        else:
            s = _QUOTE_SUBJECTS[int(rng.integers(len(_QUOTE_SUBJECTS)))]
            p = _QUOTE_PREDICATES[int(rng.integers(len(_QUOTE_PREDICATES)))]
            t = _QUOTE_TAILS[int(rng.integers(len(_QUOTE_TAILS)))]
            body = f"{s} {p}{t}."
        out.append(f"\u201c{body}\u201d" if rng.random() < 0.2 else f'"{body}"')
    return out


def _products(rng: np.random.Generator, n: int) -> list[str]:
    """Invented product names: brand, line, optional model number, kind."""
    out = []
    for _ in range(n):
        parts = [_BRANDS[int(rng.integers(len(_BRANDS)))], _PRODUCT_LINES[int(rng.integers(len(_PRODUCT_LINES)))]]
        if rng.random() < 0.6:
            parts.append(str(int(rng.integers(1, 10)) * 100))
        parts.append(_PRODUCT_KINDS[int(rng.integers(len(_PRODUCT_KINDS)))])
        out.append(" ".join(parts))
    return out


def _people_and_urls(seed: int, n_names: int, n_urls: int) -> tuple[list[str], list[str]]:
    """Person names from several locales and plausible URLs, from seeded Faker."""
    from faker import Faker

    names: list[str] = []
    urls: list[str] = []
    locales = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT"]
    word = re.compile(r"^[A-ZÀ-Þ][^\s]*$")
    for k, locale in enumerate(locales):
        fake = Faker(locale)
        fake.seed_instance((int(seed) * 1009 + k) & 0xFFFFFFFF)
        want = n_names // len(locales)
        tries = 0
        while want and tries < want * 5:
            tries += 1
            name = f"{fake.first_name()} {fake.last_name()}"
            if all(word.match(w) for w in name.split()):
                names.append(name)
                want -= 1
        for _ in range(n_urls // len(locales)):
            path = "/".join(fake.uri_path().split("/")[:2])
            style = fake.random_int(0, 3)
            domain = fake.domain_name()
            if style == 0:
                urls.append(f"https://{domain}/{path}")
            elif style == 1:
                urls.append(f"https://www.{domain}/{path}?id={fake.random_int(100, 99999)}")
            elif style == 2:
                urls.append(f"http://{domain}/{path}.html")
            else:
                urls.append(f"www.{domain}/{path}")
    return names, urls


@functools.lru_cache(maxsize=4)
def slot_pools(seed: int) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """All slot values in one Arrow array, with each kind's offset and size.

    Kind 0 is the empty string, used to pad templates with fewer slots.
    """
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 104729])
    names, urls = _people_and_urls(seed, 3000, 600)
    pools = {
        "num": _numbers(rng, 2000),
        "name": names,
        "quote": _quotes(rng, 2000),
        "product": _products(rng, 1000),
        "code": _code_snippets(rng, 1000),
        "url": urls,
        "date": _dates(rng, 1000),
        "math": _math_problems(rng, 2000),
    }
    values = [""]
    offsets = [0]
    sizes = [1]
    for kind in SLOT_KINDS:
        offsets.append(len(values))
        sizes.append(len(pools[kind]))
        values.extend(pools[kind])
    return pa.array(values, type=pa.large_string()), np.array(offsets, np.int64), np.array(sizes, np.int64)
