// A key for one function only: who holds it can call that function and nothing else. Every function
// of one role gets the role's key under the role's name (shared/app/roles.py), so a role's key opens
// its functions only. The key's value is the resource's top-level `value` (Microsoft.Web
// sites/functions/keys resource reference), not a `properties` object.
param siteName string
param functionName string
param keyName string
@secure()
param keyValue string

resource key 'Microsoft.Web/sites/functions/keys@2024-04-01' = {
  name: '${siteName}/${functionName}/${keyName}'
  value: keyValue
}
