wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"user_id":"u%d","video_id":"v%d","action_type":"view","watch_time_ms":1200}', counter % 5000, counter % 1000)
  return wrk.format(nil, "/video_action", nil, body)
end
