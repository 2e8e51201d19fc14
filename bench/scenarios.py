"""Scenarios a–k and the wrk Lua script that plays each one.

Reads are anonymous unless said otherwise (the bare baselines answer those);
the signed-in ones carry the reader's token (user 0, who follows a quarter of
the users). g alternates POST and DELETE of a favorite; h posts comments; i
revalidates d's article (If-None-Match: 304 Not Modified); j and k are d
and e signed in (not run by default). The
writes touch articles that no read scenario shows in full, so that the
answers of d and e stay the same from round to round.
"""

import json
from dataclasses import dataclass

LIST = "/api/articles?limit=20"


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    method: str  # GET, POST, or TOGGLE (POST then DELETE of the same path)
    signed_in: bool = False
    bare: bool = False  # bench.bare has a baseline for it

    def paths(self, seeded):
        slugs = seeded.slugs
        return {
            "a": [LIST],
            "b": [LIST],
            "c": ["/api/articles/feed?limit=20"],
            "d": [f"/api/articles/{slugs[1]}"],
            "i": [f"/api/articles/{slugs[1]}"],
            "e": [f"/api/articles/{slugs[0]}/comments"],
            "f": ["/api/tags"],
            "g": [f"/api/articles/{slug}/favorite" for slug in slugs[-16:-8]],
            "h": [f"/api/articles/{slug}/comments" for slug in slugs[-8:]],
            "j": [f"/api/articles/{slugs[1]}"],
            "k": [f"/api/articles/{slugs[0]}/comments"],
        }[self.key]


SCENARIOS = [
    Scenario("a", "list, anonymous", "GET", bare=True),
    Scenario("b", "list, signed in", "GET", signed_in=True),
    Scenario("c", "feed", "GET", signed_in=True),
    Scenario("d", "one article", "GET", bare=True),
    Scenario("e", "comments", "GET", bare=True),
    Scenario("f", "tags", "GET", bare=True),
    Scenario("g", "favorite/unfavorite", "TOGGLE", signed_in=True),
    Scenario("h", "post a comment", "POST", signed_in=True),
    # d again, by a client that has the article: If-None-Match with the ETag of
    # its first answer, so every later answer is a 304 without a body.
    Scenario("i", "one article, revalidated (304)", "REVALIDATE"),
    # d and e read by a signed-in viewer: the token checked by the read's own statement.
    # Not in make bench's default set; --scenarios dejk compares them with d and e.
    Scenario("j", "one article, signed in", "GET", signed_in=True),
    Scenario("k", "comments, signed in", "GET", signed_in=True),
]
BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}

COMMENT = json.dumps({"comment": {"body": "A comment from the benchmark, of a usual length."}})

# Per wrk thread an offset (setup), so that the two threads start on different
# paths; per request the next path (TOGGLE: each path twice, POST then DELETE).
# done() prints one JSON line the bench parses.
LUA = r"""
local paths = %(paths)s
local mode = "%(mode)s"
local token = "%(token)s"
local body = %(body)s
local threads = 0
function setup(thread)
  thread:set("offset", threads * 7)
  threads = threads + 1
end
local n = 0
function request()
  n = n + 1
  local step = n + (offset or 0)
  local headers = {}
  if token ~= "" then headers["Authorization"] = "Token " .. token end
  if mode == "GET" then
    return wrk.format("GET", paths[(step %% #paths) + 1], headers)
  end
  if mode == "REVALIDATE" then
    if etag then headers["If-None-Match"] = etag end
    return wrk.format("GET", paths[(step %% #paths) + 1], headers)
  end
  headers["Content-Type"] = "application/json"
  if mode == "POST" then
    return wrk.format("POST", paths[(step %% #paths) + 1], headers, body)
  end
  local path = paths[(math.floor(step / 2) %% #paths) + 1]
  if step %% 2 == 0 then return wrk.format("POST", path, headers, "") end
  return wrk.format("DELETE", path, headers)
end
if mode == "REVALIDATE" then
  -- Keep the ETag of the first answer (wrk calls response() only when defined);
  -- header names arrive as the server spelled them (WebOb: "Etag").
  function response(status, headers, body)
    if etag then return end
    for name, value in pairs(headers) do
      if string.lower(name) == "etag" then etag = value end
    end
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "socket_errors": %%d, ' ..
    '"p50_us": %%d, "p99_us": %%d, "max_us": %%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def lua_string(text):
    return "[==[" + text + "]==]"


def lua_script(scenario, seeded):
    paths = "{" + ", ".join(lua_string(path) for path in scenario.paths(seeded)) + "}"
    return LUA % {
        "paths": paths,
        "mode": scenario.method,
        "token": seeded.tokens[0] if scenario.signed_in else "",
        "body": lua_string(COMMENT),
    }
