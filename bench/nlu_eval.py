"""NLU quality on the held-out set data/eval/nlu.yml: intent macro-F1 and entity F1.

Usage: python bench/nlu_eval.py [--model models/xiaobao-….tar.gz] [--data FILE] [--json]
--data data/dev/nlu.yml evaluates on the development set, the one to read misses from when
improving the training data; the held-out set is for the final figure only.
Runs in .venv-bot (it re-executes itself there when started from .venv). The model defaults to
the one matching the training data (`xiaobao train`). Parse latency p50/p99 is printed too.
A retrieval intent faq/<name> counts as <name> (CONTRACTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BOT_PY = Path(os.environ.get("XIAOBAO_BOT_VENV") or ROOT / ".venv-bot") / "bin" / "python"


def _reexec_in_bot_env() -> None:
    try:
        import rasa  # noqa: F401
    except ImportError:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        sys.exit(subprocess.call([str(BOT_PY), __file__, *sys.argv[1:]], env=env, cwd=ROOT))


def default_model() -> Path:
    """The model `xiaobao train` makes from the current training data (xiaobao.bot imports
    only the standard library, so it loads in the bot's Python 3.10 too)."""
    sys.path.insert(0, str(ROOT))
    from xiaobao.bot import model_path

    return model_path(ROOT)


def predicted_intent(parse: dict[str, Any]) -> str:
    name = str((parse.get("intent") or {}).get("name"))
    if name == "faq":
        key = (((parse.get("response_selector") or {}).get("faq") or {}).get("response") or {}
               ).get("intent_response_key") or "faq/?"
        return str(key).split("/", 1)[1]
    return name.split("/", 1)[1] if name.startswith("faq/") else name


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


async def evaluate(model: Path, data: Path) -> dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    examples = load_data(str(data)).intent_examples
    agent = Agent.load(str(model))
    intents: list[tuple[str, str, str]] = []
    gold_ents: set[tuple[int, str, int, int]] = set()
    pred_ents: set[tuple[int, str, int, int]] = set()
    latencies = []
    for i, ex in enumerate(examples):
        text = ex.get("text")
        gold = str(ex.get("intent_response_key") or ex.get("intent"))
        gold = gold.split("/", 1)[1] if gold.startswith("faq/") else gold
        started = time.perf_counter()
        parse = await agent.parse_message(text)
        latencies.append((time.perf_counter() - started) * 1000)
        intents.append((text, gold, predicted_intent(parse)))
        for e in ex.get("entities") or []:
            gold_ents.add((i, e["entity"], e["start"], e["end"]))
        for e in parse.get("entities") or []:
            pred_ents.add((i, e["entity"], e["start"], e["end"]))
    labels = sorted({g for _, g, _ in intents})
    per_intent = {}
    for label in labels:
        tp = sum(1 for _, g, p in intents if g == label and p == label)
        fp = sum(1 for _, g, p in intents if g != label and p == label)
        fn = sum(1 for _, g, p in intents if g == label and p != label)
        per_intent[label] = round(f1(tp, fp, fn)[2], 3)
    tp = len(gold_ents & pred_ents)
    ep, er, ef = f1(tp, len(pred_ents - gold_ents), len(gold_ents - pred_ents))
    by_entity = {}
    for name in sorted({e[1] for e in gold_ents}):
        g = {e for e in gold_ents if e[1] == name}
        p = {e for e in pred_ents if e[1] == name}
        by_entity[name] = round(f1(len(g & p), len(p - g), len(g - p))[2], 3)
    latencies.sort()
    texts = [t for t, _, _ in intents]
    entity_errors = [f"{'多' if e in pred_ents else '漏'} {e[1]} 「{texts[e[0]][e[2]:e[3]]}」 in "
                     f"{texts[e[0]]}" for e in sorted(pred_ents ^ gold_ents)]
    return {
        "utterances": len(intents),
        "intents": len(labels),
        "intent_macro_f1": round(statistics.mean(per_intent.values()), 4),
        "intent_accuracy": round(sum(1 for _, g, p in intents if g == p) / len(intents), 4),
        "entity_precision": round(ep, 4), "entity_recall": round(er, 4),
        "entity_f1": round(ef, 4), "entity_mentions": len(gold_ents),
        "per_intent_f1": per_intent, "per_entity_f1": by_entity,
        "entity_errors": entity_errors,
        "errors": [f"{t} → {p}（应为 {g}）" for t, g, p in intents if g != p],
        "confusions": Counter(f"{g}→{p}" for _, g, p in intents if g != p).most_common(10),
        "parse_ms_p50": round(latencies[len(latencies) // 2], 1),
        "parse_ms_p99": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
    }


def main() -> int:
    _reexec_in_bot_env()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "eval" / "nlu.yml")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    model = args.model or default_model()
    if not model.exists():
        print(f"no model {model}: run `xiaobao train` first", file=sys.stderr)
        return 2
    import logging

    logging.disable(logging.WARNING)
    result = asyncio.run(evaluate(model, args.data))
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{args.data}: {result['utterances']} utterances, {result['intents']} intents")
    print(f"intent macro-F1 {result['intent_macro_f1']:.3f} (accuracy "
          f"{result['intent_accuracy']:.3f})")
    print(f"entity F1 {result['entity_f1']:.3f} (P {result['entity_precision']:.3f}, "
          f"R {result['entity_recall']:.3f}, {result['entity_mentions']} mentions)")
    print(f"per entity: {result['per_entity_f1']}")
    print("per intent:", " ".join(f"{k} {v:.2f}" for k, v in result["per_intent_f1"].items()))
    print(f"in-process parse p50 {result['parse_ms_p50']} ms, p99 {result['parse_ms_p99']} ms")
    for line in result["errors"]:
        print("  miss:", line)
    for line in result["entity_errors"]:
        print("  entity:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
