-- wrk script: POST a web-form submission as JSON to /api/v1/items.
wrk.method = "POST"
wrk.path = "/api/v1/items"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"kind":"letter","subject":"关于小区道路维修的建议","body":"我们小区门口的道路已经破损多时，' ..
  '雨天积水严重，老人和孩子出行很不方便，希望有关部门尽快安排维修。","name":"张三",' ..
  '"phone":"13800138000","email":"zhangsan@example.cn","publish":true}'
