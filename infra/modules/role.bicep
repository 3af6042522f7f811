// One role assignment for a principal on a resource group, or on one resource in it (by resource ID).
// Deployed at the scope's own resource group, so the vault, the target group and the networks may
// live in other resource groups or subscriptions than the app.
targetScope = 'resourceGroup'

param principalId string
@description('Built-in role definition GUID.')
param roleId string
@description('Resource ID to assign on; empty assigns on this resource group.')
param resourceId string = ''

var kind = empty(resourceId) ? '' : split(resourceId, '/')[7]

resource vault 'Microsoft.RecoveryServices/vaults@2024-04-01' existing = if (kind == 'vaults') {
  name: last(split(resourceId, '/'))
}

resource network 'Microsoft.Network/virtualNetworks@2024-01-01' existing = if (kind == 'virtualNetworks') {
  name: last(split(resourceId, '/'))
}

resource onGroup 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (empty(resourceId)) {
  name: guid(resourceGroup().id, principalId, roleId)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}

resource onVault 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (kind == 'vaults') {
  name: guid(resourceId, principalId, roleId)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}

resource onNetwork 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (kind == 'virtualNetworks') {
  name: guid(resourceId, principalId, roleId)
  scope: network
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}
