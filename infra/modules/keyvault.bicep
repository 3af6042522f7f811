// Secrets the deployment hands on: each role's function key (function-key-<role>: reader, operator,
// eventbridge, alerts; the AWS API destination sends the eventbridge one, and AWS keeps its own copy
// in Secrets Manager) and, optionally, the replication appliance's passphrase for operators.
// RBAC only; the app's identity reads secrets, nobody else is granted anything here.
param location string
param namePrefix string
param tags object
@secure()
@description('Each role\'s function key, by role name.')
param roleKeys object
@secure()
param appliancePassphrase string = ''
@description('When the secrets were written; they expire a year later and must be rotated.')
param now string = utcNow()

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_189: identity-only access over the public endpoint; a private-endpoint variant needs a VNet, which this template does not build (see infra/README.md); RBAC only
  // checkov:skip=CKV_AZURE_109: identity-only access over the public endpoint; a private-endpoint variant needs a VNet, which this template does not build (see infra/README.md); RBAC only
  name: take('${namePrefix}-kv-${uniqueString(resourceGroup().id)}', 24)
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource functionKeys 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for role in items(roleKeys): {
  parent: vault
  name: 'function-key-${role.key}'
  properties: {
    value: role.value
    contentType: 'Azure Functions key of the ${role.key} role (x-functions-key header; README "Keys")'
    attributes: {
      exp: dateTimeToEpoch(dateTimeAdd(now, 'P1Y'))
    }
  }
}]

resource passphrase 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(appliancePassphrase)) {
  // checkov:skip=CKV_AZURE_41: false positive: the secret sets exp; checkov does not read a conditional resource's body
  // checkov:skip=CKV_AZURE_114: false positive: the secret sets contentType; checkov does not read a conditional resource's body
  parent: vault
  name: 'appliance-passphrase'
  properties: {
    value: appliancePassphrase
    contentType: 'Replication appliance passphrase (the agents read their copy from SSM Parameter Store)'
    attributes: {
      exp: dateTimeToEpoch(dateTimeAdd(now, 'P1Y'))
    }
  }
}

output vaultName string = vault.name
output vaultId string = vault.id
output functionKeySecretUri string = '${vault.properties.vaultUri}secrets/function-key-eventbridge'
