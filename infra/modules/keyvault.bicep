// Secrets the deployment hands on: the function key the AWS API destination sends (AWS keeps its own
// copy in Secrets Manager) and, optionally, the replication appliance's passphrase for operators.
// RBAC only; the app's identity reads secrets, nobody else is granted anything here.
param location string
param namePrefix string
param tags object
@secure()
param ec2EventsKey string
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

resource functionKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'ec2-events-function-key'
  properties: {
    value: ec2EventsKey
    contentType: 'Azure Functions key for POST /api/ec2-events (x-functions-key header)'
    attributes: {
      exp: dateTimeToEpoch(dateTimeAdd(now, 'P1Y'))
    }
  }
}

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
output functionKeySecretUri string = functionKey.properties.secretUri
