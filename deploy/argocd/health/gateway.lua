-- Argo CD health of a Switchboard Gateway (switchboard.dev/v1alpha1), from its Ready
-- condition, which the operator derives from the gateway Deployment:
--   Ready=True                          -> Healthy
--   Ready=False, reason Progressing     -> Progressing (pods rolling out or starting)
--   Ready=False, reason ScaledToZero    -> Suspended (spec.replicas is 0)
--   Ready=False, any other reason       -> Degraded
-- Targets have their own health; a Gateway with some targets not READY stays Healthy
-- and says so in its message.
local hs = {}

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Switchboard operator"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to act on generation " .. generation
  return hs
end

local ready = nil
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the gateway Deployment"
  return hs
end

local message = ready.message or ""
if ready.status == "True" then
  hs.status = "Healthy"
  local tools = obj.status.toolCount or 0
  local targets = obj.status.targets or "0/0"
  hs.message = tools .. " tools, " .. targets .. " targets ready; " .. message
elseif ready.reason == "ScaledToZero" then
  hs.status = "Suspended"
  hs.message = message
elseif ready.reason == "Progressing" or ready.status == "Unknown" then
  hs.status = "Progressing"
  hs.message = message
else
  hs.status = "Degraded"
  hs.message = (ready.reason or "NotReady") .. ": " .. message
end
return hs
