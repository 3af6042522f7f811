// One account for the Functions runtime, the deployment package, the state tables and the Event
// Grid dead letters. Identity-based access only: shared keys are off, HTTPS and TLS 1.2 required.
param location string
param namePrefix string
param tags object

var accountName = take(toLower(replace('${namePrefix}state${uniqueString(resourceGroup().id)}', '-', '')), 24)

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: identity-only access over the public endpoint; a private-endpoint variant needs a VNet, which this template does not build (see infra/README.md)
  // checkov:skip=CKV_AZURE_59: identity-only access over the public endpoint; a private-endpoint variant needs a VNet, which this template does not build (see infra/README.md); shared keys are off and blob public access is disabled
  // checkov:skip=CKV_AZURE_206: ZRS is replicated across zones; the state must stay in the app's region, so no GRS
  // checkov:skip=CKV_AZURE_43: the name is computed (prefix + uniqueString, lower case, at most 24); checkov cannot evaluate it
  name: accountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deployments 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: 'app-package'
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetters 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: 'eventgrid-dead-letters'
  properties: {
    publicAccess: 'None'
  }
}

output accountName string = account.name
output accountId string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output tableEndpoint string = account.properties.primaryEndpoints.table
output queueEndpoint string = account.properties.primaryEndpoints.queue
output packageContainerUrl string = '${account.properties.primaryEndpoints.blob}${deployments.name}'
output deadLetterContainer string = deadLetters.name
