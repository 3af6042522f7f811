// A key for one function only: who holds it can call that function and nothing else.
param siteName string
param functionName string
param keyName string
@secure()
param keyValue string

resource key 'Microsoft.Web/sites/functions/keys@2024-04-01' = {
  name: '${siteName}/${functionName}/${keyName}'
  properties: {
    value: keyValue
  }
}
