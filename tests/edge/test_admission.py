"""The admission queue (myapp.edge.admission): a burst waits and is served, a stuck one is shed.

Real threads and real time, with bounds generous enough for a busy machine.
"""

import threading
import time

from myapp.edge.admission import AdmissionQueue


def run_clients(queue, count, hold):
    """``count`` threads at once: enter, hold the slot ``hold`` s, leave; their outcomes."""
    outcomes, most, lock = [], [0], threading.Lock()
    start = threading.Barrier(count)

    def client():
        start.wait()
        began = time.monotonic()
        token, refusal = queue.enter()
        waited = time.monotonic() - began
        if token is not None:
            with lock:
                most[0] = max(most[0], len(queue.holders))
            time.sleep(hold)
            queue.leave(token)
        with lock:
            outcomes.append((refusal, waited))

    threads = [threading.Thread(target=client) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes, most[0]


def test_a_burst_beyond_the_slots_waits_and_is_served_in_full():
    queue = AdmissionQueue(slots=4, max_queued=100, timeout=5)
    outcomes, most = run_clients(queue, 100, hold=0.01)
    waits = sorted(waited for _, waited in outcomes)
    print(f"\n100 at once on 4 slots: refusals {[r for r, _ in outcomes if r]}; "
          f"longest wait {waits[-1]:.2f} s")
    assert [refusal for refusal, _ in outcomes] == [None] * 100
    assert most <= 4, "never more requests inside than slots"
    assert not queue.waiting and not queue.holders


def test_beyond_the_queue_requests_are_refused_at_once():
    queue = AdmissionQueue(slots=2, max_queued=3, timeout=5)
    outcomes, _ = run_clients(queue, 10, hold=0.5)
    full = [waited for refusal, waited in outcomes if refusal == "full"]
    assert len(full) == 5 and max(full) < 0.5
    assert sum(1 for refusal, _ in outcomes if refusal is None) == 5


def test_when_the_slots_are_stuck_the_queue_is_shed_before_its_timeout():
    timeout = 3
    queue = AdmissionQueue(slots=2, max_queued=50, timeout=timeout)
    stuck = [queue.enter()[0] for _ in range(2)]  # held until the end: a hung database
    try:
        outcomes, _ = run_clients(queue, 20, hold=0)
    finally:
        for token in stuck:
            queue.leave(token)
    waits = sorted(waited for _, waited in outcomes)
    print(f"\n20 behind 2 stuck slots, {timeout} s timeout: "
          f"{[(r, round(w, 2)) for r, w in sorted(outcomes, key=lambda o: o[1])]}")
    assert all(refusal in ("late", "timeout") for refusal, _ in outcomes)
    assert waits[-1] < timeout + 1, "nobody waits beyond the timeout"
    # Those far back in the queue (beyond what the stuck pace could ever serve) go first.
    assert sum(waited < timeout / 2 for waited in waits) >= len(waits) / 3
