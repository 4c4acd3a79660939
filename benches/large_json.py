"""Writes two conversation-like JSON documents of about SIZE_MB each that differ in one
deep field, for timing `cutover diff` on large inputs.

Usage: python3 benches/large_json.py OUT_DIR [SIZE_MB]
Writes OUT_DIR/left.json and OUT_DIR/right.json.
"""

import json
import random
import sys


def conversation(rng, i):
    participants = [f"user-{rng.randrange(100000)}" for _ in range(rng.randint(2, 30))]
    messages = []
    for m in range(rng.randint(1, 60)):
        messages.append({
            "id": f"m-{i}-{m}",
            "author": rng.choice(participants),
            "created_at": f"2024-03-{1 + m % 28:02d}T10:{m % 60:02d}:00.123Z",
            "text": "Bonjour à tous, voici le compte rendu n°%d ✓" % m,
            "read_by": rng.sample(participants, rng.randint(0, len(participants))),
            "attachments": [{"index": a, "name": f"file-{a}.pdf", "size": rng.randrange(10**6)}
                            for a in range(rng.randint(0, 2))],
            "deleted": None if m % 7 else True,
        })
    return {"id": f"c-{i}", "subject": f"Conversation {i}", "participants": participants,
            "messages": messages, "archived": i % 11 == 0, "score": rng.random()}


def main():
    out, size_mb = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 50
    rng = random.Random(7)
    doc, size = {"conversations": []}, 0
    while size < size_mb * 1_000_000:
        c = conversation(rng, len(doc["conversations"]))
        size += len(json.dumps(c, ensure_ascii=False))
        doc["conversations"].append(c)
    with open(f"{out}/left.json", "w") as f:
        json.dump(doc, f, ensure_ascii=False)
    middle = doc["conversations"][len(doc["conversations"]) // 2]
    middle["messages"][-1]["text"] += " (edited)"
    with open(f"{out}/right.json", "w") as f:
        json.dump(doc, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
