-- wrk script of make bench-dpp: POST GraphQL bodies read from $BENCH_BODIES (one JSON body a line).
-- $BENCH_ZIPF > 0 picks a line by a Zipf law of that exponent (line 1 the most popular, the bench
-- shuffles the lines), otherwise uniformly; $BENCH_TOKEN adds a bearer token. The random sequence is
-- seeded the same on every run, so two stacks measured back to back see the same requests.
-- A 200 answer whose body holds "errors" counts as a GraphQL error; done() prints the count and
-- the first failed answer (any status) for the bench's error note.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do
  if line ~= "" then
    bodies[#bodies + 1] = line
  end
end
local n = #bodies
local exponent = tonumber(os.getenv("BENCH_ZIPF") or "0") or 0
local cdf = nil
if exponent > 0 and n > 1 then
  cdf = {}
  local total = 0
  for k = 1, n do
    total = total + 1 / (k ^ exponent)
    cdf[k] = total
  end
  for k = 1, n do
    cdf[k] = cdf[k] / total
  end
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(12345)
  errors = 0
end

local function pick()
  if n == 1 then
    return 1
  end
  local r = math.random()
  if cdf == nil then
    return math.floor(r * n) + 1
  end
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < r then
      lo = mid + 1
    else
      hi = mid
    end
  end
  return lo
end

function request()
  return wrk.format(nil, nil, nil, bodies[pick()])
end

function response(status, headers, body)
  local failed = status ~= 200 or string.find(body, '"errors"', 1, true)
  if failed and status == 200 then
    errors = errors + 1
  end
  if failed and first_error == nil then
    first_error = "HTTP " .. status .. ": " .. string.gsub(string.sub(body, 1, 300), "\n", " ")
  end
end

function done(summary, latency, requests)
  local total = 0
  local first = nil
  for _, thread in ipairs(threads) do
    total = total + (thread:get("errors") or 0)
    first = first or thread:get("first_error")
  end
  io.write(string.format("GraphQL errors: %d\n", total))
  if first then
    io.write("First error: " .. first .. "\n")
  end
end
