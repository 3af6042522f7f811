// One role assignment for a principal on a resource group, or on one resource in it, deployed at
// that resource group (the vault, the targets and the networks may live in other resource groups or
// subscriptions than the app). The scope's kind is given, never guessed from the ID.
targetScope = 'resourceGroup'

param principalId string
@description('Built-in role definition GUID.')
param roleId string
@allowed([
  'resourceGroup'
  'vault'
  'virtualNetwork'
  'storageAccount'
])
param scopeKind string = 'resourceGroup'
@description('Resource ID of the vault, network or storage account (unused for a resource group).')
param resourceId string = ''

var name = empty(resourceId) ? 'none' : last(split(resourceId, '/'))
var roleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)

resource vault 'Microsoft.RecoveryServices/vaults@2024-04-01' existing = if (scopeKind == 'vault') {
  name: name
}

resource network 'Microsoft.Network/virtualNetworks@2024-01-01' existing = if (scopeKind == 'virtualNetwork') {
  name: name
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = if (scopeKind == 'storageAccount') {
  name: name
}

resource onGroup 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'resourceGroup') {
  name: guid(resourceGroup().id, principalId, roleId)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleDefinitionId
  }
}

resource onVault 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'vault') {
  name: guid(resourceId, principalId, roleId)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleDefinitionId
  }
}

resource onNetwork 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'virtualNetwork') {
  name: guid(resourceId, principalId, roleId)
  scope: network
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleDefinitionId
  }
}

resource onAccount 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'storageAccount') {
  name: guid(resourceId, principalId, roleId)
  scope: account
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleDefinitionId
  }
}
