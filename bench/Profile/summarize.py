#!/usr/bin/env python3
"""Top frames by inclusive time from a dotnet-trace Speedscope file (profile dotnet-sampled-thread-time).

The sampler records every managed thread's stack about 100 times a second, running or not. A sample whose top frame
is UNMANAGED_CODE_TIME is a thread in native code: blocked in a wait, in epoll, or in the runtime itself (JIT, GC);
the others were running managed code. The table ranks frames by the share of the running samples they are on.

usage: summarize.py FILE.speedscope.json [TOP]
"""
import collections
import json
import sys

path = sys.argv[1]
top = int(sys.argv[2]) if len(sys.argv) > 2 else 30
with open(path, encoding="utf-8") as f:
    data = json.load(f)
names = [frame["name"] for frame in data["shared"]["frames"]]

inclusive = collections.Counter()
self_time = collections.Counter()
running = 0.0
native = 0.0
# TraceEvent's own frames: the process, the thread, the activity, the sample's kind (CPU_TIME marks a running one).
def pseudo(name):
    return name.startswith(("Process64 ", "Process32 ", "Thread (", "(Non-Activities)", "Threads", "CPU_TIME", "?!?"))

for profile in data["profiles"]:
    stack = []
    last = None
    for event in profile["events"]:
        if last is not None and stack and event["at"] > last:
            dt = event["at"] - last
            if names[stack[-1]] == "UNMANAGED_CODE_TIME":
                native += dt
            else:
                running += dt
                real = [frame for frame in stack if not pseudo(names[frame])]
                for frame in set(real):
                    inclusive[frame] += dt
                if real:
                    self_time[real[-1]] += dt
        last = event["at"]
        if event["type"] == "O":
            stack.append(event["frame"])
        elif stack:
            stack.pop()

total = running + native
print(f"threads' time: {total / 1000:.1f} s sampled, {100 * running / total:.0f}% running managed code, "
      f"{100 * native / total:.0f}% in native code (waits, I/O, the runtime)")
print(f"{'incl %':>7} {'self %':>7}  frame (share of the running samples)")
for frame, value in inclusive.most_common(top):
    print(f"{100 * value / running:7.1f} {100 * self_time[frame] / running:7.1f}  {names[frame][:150]}")
