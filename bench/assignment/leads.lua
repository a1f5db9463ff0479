-- wrk script for the single-lead benchmark: POSTs varied leads to /assignment/leads.
--
-- Environment: BENCH_LEADS (a file of JSON leads, one a line), BENCH_API_KEY (the bench tenant's
-- key). Each thread pre-builds every request once (wrk's advice) and starts at its own offset,
-- so threads do not send the same leads in lockstep. Every response that is not a 2xx is
-- counted, and done() prints one line "BENCH_JSON {...}" that bench/assignment/loadgen.py reads.

local threads = {}
local next_thread_id = 0

function setup(thread)
    thread:set("thread_id", next_thread_id)
    next_thread_id = next_thread_id + 1
    table.insert(threads, thread)
end

local requests_pool = {}
local position = 0
non2xx = 0
first_bad_status = 0
first_bad_body = ""

function init(args)
    local path = os.getenv("BENCH_LEADS")
    local api_key = os.getenv("BENCH_API_KEY")
    assert(path and api_key, "set BENCH_LEADS and BENCH_API_KEY")
    local headers = {
        ["Content-Type"] = "application/json",
        ["X-API-Key"] = api_key,
    }
    for line in io.lines(path) do
        if #line > 0 then
            requests_pool[#requests_pool + 1] = wrk.format("POST", "/assignment/leads", headers, line)
        end
    end
    assert(#requests_pool > 0, "no leads in " .. path)
    position = (thread_id * 7919) % #requests_pool
end

function request()
    position = position % #requests_pool + 1
    return requests_pool[position]
end

function response(status, headers, body)
    if status < 200 or status > 299 then
        non2xx = non2xx + 1
        if first_bad_status == 0 then
            first_bad_status = status
            first_bad_body = string.sub(body or "", 1, 300)
        end
    end
end

local function json_string(text)
    text = string.gsub(text, '[%c"\\]', function(c)
        return string.format("\\u%04x", string.byte(c))
    end)
    return '"' .. text .. '"'
end

function done(summary, latency, requests)
    local bad, bad_status, bad_body = 0, 0, ""
    for _, thread in ipairs(threads) do
        bad = bad + (thread:get("non2xx") or 0)
        if bad_status == 0 and (thread:get("first_bad_status") or 0) ~= 0 then
            bad_status = thread:get("first_bad_status")
            bad_body = thread:get("first_bad_body") or ""
        end
    end
    local errors = summary.errors
    io.write(string.format(
        'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
            .. '"latency_us":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},'
            .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
            .. '"non2xx":%d,"first_bad_status":%d,"first_bad_body":%s}\n',
        summary.requests, summary.duration, summary.bytes,
        latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency:percentile(99.9), latency.max,
        errors.connect, errors.read, errors.write, errors.status, errors.timeout,
        bad, bad_status, json_string(bad_body)))
end
