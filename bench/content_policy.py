"""The content check's cost per message (M-11, decision 0051) — what it adds to the
acceptance of one SMS on the hot path.

    .venv/bin/python bench/content_policy.py                 # 20,000 texts per kind
    .venv/bin/python bench/content_policy.py --domains 100000 --texts 50000
    .venv/bin/python bench/content_policy.py --patterns 0     # what the patterns cost

Builds a `Policy` like an operator's after a feed import (`--domains` blocked domains,
the seeded shorteners, 300 protected brands, `--words` word rules and `--patterns`
patterns) and times `Policy.verdict` on four kinds of text: clean without a dot (most
transactional SMS), clean with a link, a hidden shortener, a look-alike Unicode link.
Prints per kind the mean, p50 and p99 in microseconds of CPU time of the thread.
"""

import argparse
import random
import string
import time

from chappe.messaging.content_policy.brands import brands_of
from chappe.messaging.content_policy.policy import Policy, rule_of

SHORTENERS = ("bit.ly", "tinyurl.com", "t.co", "ow.ly", "cutt.ly", "is.gd", "rb.gy")
KINDS = {
    "clean, no dot": lambda i: f"Votre code est {i % 1000000:06d}, il expire dans 10 minutes",
    "clean, a link": lambda i: f"Votre commande {i} est prête: https://shop.example.fr/c/{i}",
    "hidden shortener": lambda i: f"Colis {i} bloqué: b i t . l y/{i}",
    "look-alike link": lambda i: f"Compte {i} suspendu: pаypal-secure.com/{i}",  # noqa: RUF001
}


def policy(domains: int, words: int = 20, patterns: int = 5) -> Policy:
    rng = random.Random(7)  # noqa: S311 — made-up domain names, not secrets
    blocked = {"".join(rng.choices(string.ascii_lowercase, k=12)) + ".com"
               for _ in range(domains)} | {"paypal-secure.com"}
    brands = brands_of(["PAYPAL", "AMAZON", "LAPOSTE", "AMELI", "CHRONOPOST"] + [
        "".join(rng.choices(string.ascii_uppercase, k=8)) for _ in range(295)])
    rules = tuple(rule_of(name=f"w{i}", kind="word", value=f"mot interdit {i}", action="hold")
                  for i in range(words)) + tuple(
        rule_of(name=f"p{i}", kind="pattern", value=rf"\bcasino{i}\w*", action="hold")
        for i in range(patterns))
    return Policy(version=1, blocked=frozenset(blocked), shorteners=frozenset(SHORTENERS),
                  brands=brands, rules=rules)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domains", type=int, default=10_000)
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--words", type=int, default=20, help="word rules")
    parser.add_argument("--patterns", type=int, default=5, help="pattern rules")
    args = parser.parse_args()
    checked = policy(args.domains, args.words, args.patterns)
    print(f"policy: {args.domains} blocked domains, {len(checked.brands)} brands, "
          f"{len(checked.rules)} rules")
    for name, make in KINDS.items():
        texts = [make(i) for i in range(args.texts)]
        costs, found = [], 0
        for text in texts:
            started = time.thread_time_ns()
            finding = checked.verdict(text=text, sender="Chappe")
            costs.append((time.thread_time_ns() - started) / 1000)
            found += finding is not None
        costs.sort()
        print(f"{name:18} mean {sum(costs) / len(costs):7.1f} µs  "
              f"p50 {costs[len(costs) // 2]:7.1f} µs  p99 {costs[len(costs) * 99 // 100]:7.1f} µs"
              f"  caught {found}/{len(texts)}")


if __name__ == "__main__":
    main()
