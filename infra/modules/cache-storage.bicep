// The cache (log) storage account Site Recovery stages replication data in, in the TARGET region:
// InMageRcm's enable names it (disksDefault.logStorageAccountId), and the migrated VMs' boot
// diagnostics go there too. The vault's managed identity gets what Microsoft documents for a
// standard cache account: Contributor and Storage Blob Data Contributor on it, and the account lets
// trusted Microsoft services through its firewall.
param location string
param namePrefix string
param tags object
@description('Principal ID of the Recovery Services vault\'s system-assigned managed identity.')
param vaultPrincipalId string
@description('Optional: public IPv4 addresses or CIDR ranges the replication appliance uploads from; given, every other network is refused (trusted Azure services still pass).')
param applianceEgressIps array = []
param roles object

var accountName = take(toLower(replace('${namePrefix}cache${uniqueString(resourceGroup().id, location)}', '-', '')), 24)

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the replication appliance uploads from AWS over the internet; give applianceEgressIps to refuse every other network (trusted Azure services always pass)
  // checkov:skip=CKV_AZURE_59: the replication appliance in AWS reaches the account over its public endpoint; a private-endpoint variant needs a VNet, which this template does not build (see infra/README.md); blob public access is disabled
  // checkov:skip=CKV_AZURE_206: a cache Site Recovery drains into managed disks in the same region (a resync refills it if lost); GRS would copy that churn to a second region for nothing
  // checkov:skip=CKV_AZURE_43: the name is computed (prefix + uniqueString, lower case, at most 24); checkov cannot evaluate it
  name: accountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    // Site Recovery (through the vault identity's Contributor role) and VM boot diagnostics on a
    // custom account write with the account's keys; the classic provider's enable passes them on.
    allowSharedKeyAccess: true
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: empty(applianceEgressIps) ? 'Allow' : 'Deny'
      ipRules: [for ip in applianceEgressIps: {
        value: ip
        action: 'Allow'
      }]
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

resource vaultContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, vaultPrincipalId, roles.contributor)
  scope: account
  properties: {
    principalId: vaultPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.contributor)
  }
}

resource vaultBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, vaultPrincipalId, roles.storageBlobDataContributor)
  scope: account
  properties: {
    principalId: vaultPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

output accountName string = account.name
output accountId string = account.id
