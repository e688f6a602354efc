-- One wrk script for every operation of the benchmark:
--   wrk -s bench/lua/bench.lua http://127.0.0.1:PORT -- MODE DATA_DIR
-- MODE is one of
--   get      GET one message (Basic auth of its account, a random message per request)
--   get304   the same with If-None-Match: its current ETag (the 304 path)
--   list     GET the first page of 50 of the big account
--   deep     GET the page at offset 50,000 of the big account (a real PageToken)
--   create   POST a message (form body) for a random account
--   mixed    90% get, 10% create
--   root     GET / (anonymous)
--   ceil_point, ceil_list, ceil_insert, ceil_static: the ceiling program's routes, and
--   ceil_mixed: 90% ceil_point, 10% ceil_insert
-- DATA_DIR holds what the seeder wrote: accounts.tsv, messages.tsv, page1.txt, deep.txt.
-- done() prints one line:
--   RESULT <requests/s> <p50 ms> <p99 ms> <socket errors+timeouts> <statuses >= 400> <requests> <bytes/request>
-- (run.sh replaces wrk's status count for signpost by the exact tally of its access log, where
-- any status but 2xx, or but 304 for get304, is an error).

local mode, dir

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
  return ((s:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

local function lines(name)
  local f = assert(io.open(dir .. "/" .. name, "r"), "missing " .. dir .. "/" .. name)
  local out = {}
  for l in f:lines() do
    if l ~= "" then out[#out + 1] = l end
  end
  f:close()
  return out
end

local function split(l)
  local t = {}
  for field in l:gmatch("[^\t]+") do t[#t + 1] = field end
  return t
end

local accounts = {}   -- { sid, auth, from }
local reads = {}      -- preformatted GET requests, one per message
local creates = {}    -- preformatted POST requests, a few per account
local fixed           -- one preformatted request

local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local function load_accounts()
  for _, l in ipairs(lines("accounts.tsv")) do
    local f = split(l)
    accounts[#accounts + 1] = { sid = f[1], auth = "Basic " .. base64(f[1] .. ":" .. f[2]), from = f[3] }
  end
end

local function load_reads(conditional, ceiling)
  for _, l in ipairs(lines("messages.tsv")) do
    local f = split(l)
    local a = accounts[tonumber(f[1]) + 1]
    if ceiling then
      reads[#reads + 1] = wrk.format("GET", "/point/" .. a.sid .. "/" .. f[2], {})
    else
      local h = { ["Authorization"] = a.auth, ["Accept"] = "application/json" }
      if conditional then h["If-None-Match"] = f[3] end
      reads[#reads + 1] = wrk.format("GET", "/2010-04-01/Accounts/" .. a.sid .. "/Messages/" .. f[2] .. ".json", h)
    end
  end
end

local function load_creates(ceiling)
  for i, a in ipairs(accounts) do
    for k = 0, 9 do
      local to = string.format("%%2B1303555%04d", (i * 37 + k * 101) % 10000)
      local body = "To=" .. to .. "&From=" .. a.from:gsub("%+", "%%2B") ..
        "&Body=Your+verification+code+is+" .. string.format("%06d", i * 1000 + k) .. ".+It+expires+in+10+minutes."
      if ceiling then
        creates[#creates + 1] = wrk.format("POST", "/insert/" .. a.sid,
          { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
      else
        creates[#creates + 1] = wrk.format("POST", "/2010-04-01/Accounts/" .. a.sid .. "/Messages.json",
          { ["Authorization"] = a.auth, ["Accept"] = "application/json",
            ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
      end
    end
  end
end

function init(args)
  mode, dir = args[1], args[2]
  math.randomseed(os.time() * 7919 + (id or 0) * 104729)
  load_accounts()
  local big = accounts[1]
  local h = { ["Authorization"] = big.auth, ["Accept"] = "application/json" }
  if mode == "get" or mode == "mixed" then
    load_reads(false, false)
  elseif mode == "get304" then
    load_reads(true, false)
  elseif mode == "ceil_point" or mode == "ceil_mixed" then
    load_reads(false, true)
  end
  if mode == "create" or mode == "mixed" then
    load_creates(false)
  elseif mode == "ceil_insert" or mode == "ceil_mixed" then
    load_creates(true)
  end
  if mode == "list" then
    fixed = wrk.format("GET", lines("page1.txt")[1], h)
  elseif mode == "deep" then
    fixed = wrk.format("GET", lines("deep.txt")[1], h)
  elseif mode == "root" then
    fixed = wrk.format("GET", "/", { ["Accept"] = "application/json" })
  elseif mode == "ceil_list" then
    fixed = wrk.format("GET", "/list/" .. big.sid, {})
  elseif mode == "ceil_static" then
    fixed = wrk.format("GET", "/static", {})
  end
end

local random = math.random
function request()
  if fixed then return fixed end
  if mode == "mixed" or mode == "ceil_mixed" then
    if random() < 0.1 then return creates[random(#creates)] end
    return reads[random(#reads)]
  end
  if #creates > 0 then return creates[random(#creates)] end
  return reads[random(#reads)]
end

function done(summary, latency, requests)
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d %d %.0f\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    socket, e.status, summary.requests, summary.bytes / math.max(summary.requests, 1)))
end
