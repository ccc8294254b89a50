wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
kinds = {"view", "like", "view", "skip"}
request = function()
  counter = counter + 1
  local kind = kinds[counter % 4 + 1]
  local body = string.format('{"user_id":"u%d","video_id":"v%d","action_type":"%s","watch_time_ms":1200}', counter % 5000, counter % 1000, kind)
  return wrk.format(nil, "/video_action", nil, body)
end
