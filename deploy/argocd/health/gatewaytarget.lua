-- Argo CD health of a Switchboard GatewayTarget (switchboard.dev/v1alpha1), from the
-- AgentCore-style state in status.status, status.statusReasons and the conditions.
--   READY                                        -> Healthy (Degraded on name collisions)
--   CREATING, UPDATING, SYNCHRONIZING, DELETING   -> Progressing
--   FAILED, UPDATE_UNSUCCESSFUL,
--   SYNCHRONIZE_UNSUCCESSFUL                     -> Degraded (the last two keep serving the
--                                                   last good catalog)
local hs = {}

local function condition(kind)
  if obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function reasons()
  local list = obj.status.statusReasons
  if list ~= nil and #list > 0 then
    return table.concat(list, "; ")
  end
  local synced = condition("Synced")
  if synced ~= nil and synced.message ~= nil and synced.message ~= "" then
    return synced.message
  end
  return "no reason given"
end

if obj.status == nil or obj.status.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Switchboard operator to sync the target"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to act on generation " .. generation
  return hs
end

local state = obj.status.status
local tools = obj.status.toolCount or 0

if state == "READY" then
  local collisions = obj.status.collisions
  if collisions ~= nil and #collisions > 0 then
    hs.status = "Degraded"
    hs.message = "READY, but " .. #collisions .. " tool name(s) are kept by another target: "
      .. table.concat(collisions, ", ") .. " (set a different toolPrefix)"
  else
    hs.status = "Healthy"
    hs.message = "READY: " .. tools .. " tools"
  end
elseif state == "CREATING" or state == "UPDATING" or state == "SYNCHRONIZING" then
  hs.status = "Progressing"
  local synced = condition("Synced")
  if synced ~= nil and synced.message ~= nil and synced.message ~= "" then
    hs.message = state .. ": " .. synced.message
  else
    hs.message = state
  end
elseif state == "DELETING" then
  hs.status = "Progressing"
  hs.message = "DELETING: removing the target's tools from the gateway"
elseif state == "FAILED" then
  hs.status = "Degraded"
  hs.message = "FAILED: " .. reasons()
elseif state == "UPDATE_UNSUCCESSFUL" or state == "SYNCHRONIZE_UNSUCCESSFUL" then
  hs.status = "Degraded"
  hs.message = state .. ": " .. reasons() .. " (still serving the last good catalog: "
    .. tools .. " tools)"
else
  hs.status = "Unknown"
  hs.message = "Unknown state " .. tostring(state)
end
return hs
