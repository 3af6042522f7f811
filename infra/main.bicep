// Migration Autopilot in one resource group: the Function App (Flex Consumption, Python 3.11, system-
// assigned identity), its storage (identity-based, no shared keys), the Event Grid topic for ASR job
// events, Application Insights with Log Analytics, Key Vault, the identity's least-privilege roles, and
// Site Recovery's cache storage account in the target region (with the vault identity's roles on it).
// Deploy: az deployment group create -g RG -f infra/main.bicep -p @infra/main.parameters.json -p ec2EventsKey=... readerKey=... operatorKey=... alertsKey=...
targetScope = 'resourceGroup'

@description('Azure region of the app (and, by default, of the migrated VMs).')
param location string = resourceGroup().location
@description('Azure region of the migrated VMs (the vault\'s target region): Site Recovery\'s cache storage account is created there.')
param targetLocation string = location
@minLength(3)
@maxLength(11)
@description('Short lowercase prefix for resource names.')
param namePrefix string = 'azmigrate'
param tags object = {
  workload: 'migration-autopilot'
}
@secure()
@description('Function key the AWS API destination sends: 32+ random characters (openssl rand -hex 32). Keep it: it is also stored in AWS Secrets Manager.')
param ec2EventsKey string
@secure()
@description('Function key of the reader role (GET routes: status and assessments): 32+ random characters.')
param readerKey string
@secure()
@description('Function key of the operator role (control routes: approvals): 32+ random characters.')
param operatorKey string
@secure()
@description('Function key of the alerts role (POST /api/asr-alerts, for an Azure Monitor action group): 32+ random characters.')
param alertsKey string
@secure()
@description('Optional: the replication appliance passphrase, kept in Key Vault for operators.')
param appliancePassphrase string = ''
@description('Second pass, after the code is published: subscribe the app to the Event Grid topic and create the function keys (both need the published functions).')
param afterPublish bool = false

@description('Recovery Services vault of the Azure Migrate project: its resource ID.')
param asrVaultId string
@allowed([
  'InMageRcm'
  'InMageAzureV2'
])
param asrProvider string = 'InMageRcm'
@minLength(36)
@maxLength(36)
@description('Principal ID of the vault\'s system-assigned managed identity (enable it first): az resource show --ids VAULT_ID --query identity.principalId -o tsv. It gets Contributor and Storage Blob Data Contributor on the cache storage account.')
param asrVaultPrincipalId string
@description('Comma-separated 12-digit AWS account IDs; the app assumes awsRoleName in each.')
param awsAccounts string
@description('Comma-separated AWS regions, e.g. us-east-1,eu-west-1.')
param awsRegions string
@description('Name of the IAM role infra/aws/account.yaml creates in each account.')
param awsRoleName string = 'MigrationAutopilot'
@description('Application ID URI of the Entra app registration AWS trusts (the token audience), e.g. api://migration-autopilot-aws.')
param awsWebIdentityAudience string
@description('The tag prefix; infra/aws/account.yaml limits the role to azmigrate:* tags, so keep it unless you edit that too.')
param tagPrefix string = 'azmigrate'
@description('Prefix of the SSM documents infra/aws/region.yaml creates (its DocumentPrefix).')
param ssmDocumentPrefix string = 'MigrationAutopilot'
param targetResourceGroupId string
param targetNetworkId string
param targetSubnetName string = 'default'
param testNetworkId string
@description('Optional: public IPv4 addresses or CIDR ranges the replication appliance reaches Azure from; given, the cache storage account refuses every other network (trusted Azure services still pass).')
param applianceEgressIps array = []
@description('Resource group of the Azure Migrate project: its discovered servers (Microsoft.OffAzure sites) are read from there.')
param migrateProjectResourceGroupId string
@description('IPv4 address or DNS name of the replication appliance.')
param applianceAddress string
param appliancePassphraseParameter string = '/azmigrate/appliance-passphrase'
@description('s3:// URI of the Linux Mobility agent installer.')
param agentInstallerLinux string
@description('s3:// URI of the Windows Mobility agent installer.')
param agentInstallerWindows string
@allowed([
  'auto'
  'approval'
])
param cutoverMode string = 'approval'
param cutoverWindows string = ''
@description('Waves with their own cutover windows and/or mode, as JSON (AZMIGRATE_WAVE_CUTOVERS); empty: none.')
param waveCutovers string = ''
param dryRun bool = true
param maxInitialReplication int = 10
@description('A Storage Queue that receives every transition event (CloudEvents), for email or chat; empty: none.')
param notificationQueueName string = ''
@description('Reverse-DNS prefix of the transition events\' types.')
param eventTypePrefix string = 'com.migrationautopilot'

var vaultParts = split(asrVaultId, '/')
var settings = {
  tablePrefix: 'azmigrate'
  asrSubscriptionId: vaultParts[2]
  asrResourceGroup: vaultParts[4]
  asrVaultName: last(vaultParts)
  asrProvider: asrProvider
  awsAccounts: awsAccounts
  awsRegions: awsRegions
  awsRoleName: awsRoleName
  awsWebIdentityAudience: awsWebIdentityAudience
  ssmDocumentPrefix: ssmDocumentPrefix
  tagPrefix: tagPrefix
  targetResourceGroupId: targetResourceGroupId
  targetNetworkId: targetNetworkId
  targetSubnetName: targetSubnetName
  testNetworkId: testNetworkId
  logStorageAccountId: cache.outputs.accountId
  bootDiagnosticsStorageAccountId: cache.outputs.accountId
  applianceAddress: applianceAddress
  appliancePassphraseParameter: appliancePassphraseParameter
  agentInstallerLinux: agentInstallerLinux
  agentInstallerWindows: agentInstallerWindows
  cutoverMode: cutoverMode
  cutoverWindows: cutoverWindows
  waveCutovers: waveCutovers
  dryRun: string(dryRun)
  targetLocation: targetLocation
  maxInitialReplication: string(maxInitialReplication)
}

// Built-in roles (IDs are the same in every tenant).
var roles = {
  // Contributor and Storage Blob Data Contributor: what Site Recovery documents its vault's identity
  // needs on a standard cache storage account.
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  // Site Recovery Contributor: manages replication (enable, update, disable), test failover and
  // failover, commit and complete; it cannot create or delete vaults or grant access. Site Recovery
  // Operator can fail over but not enable or change replication, so it is not enough.
  siteRecoveryContributor: '6670b86e-a3f7-4917-ac9b-5d6ab1be4567'
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
  // Virtual Machine Contributor: reads the test VM a test failover creates (instance view, boot
  // diagnostics) and runs the smoke command in it (Run Command), in the target resource group.
  virtualMachineContributor: '9980e02c-c2be-4d73-94e8-173b1dc7cf3c'
  // Lists the cache storage account's keys, which the classic provider's enable passes on to ASR.
  storageAccountKeyOperator: '81a9662b-bebf-436f-a333-f67b29880f12'
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    namePrefix: namePrefix
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    namePrefix: namePrefix
    tags: tags
  }
}

// Site Recovery's cache (log) storage account, in the target region.
module cache 'modules/cache-storage.bicep' = {
  name: 'cache-storage'
  params: {
    location: targetLocation
    namePrefix: namePrefix
    tags: tags
    vaultPrincipalId: asrVaultPrincipalId
    applianceEgressIps: applianceEgressIps
    roles: roles
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    namePrefix: namePrefix
    tags: tags
    roleKeys: roleKeys
    appliancePassphrase: appliancePassphrase
  }
}

module topic 'modules/eventgrid.bicep' = {
  name: 'eventgrid-topic'
  params: {
    location: location
    namePrefix: namePrefix
    tags: tags
    storageAccountId: storage.outputs.accountId
    deadLetterContainer: storage.outputs.deadLetterContainer
  }
}

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    namePrefix: namePrefix
    tags: tags
    storageAccountName: storage.outputs.accountName
    packageContainerUrl: storage.outputs.packageContainerUrl
    tableEndpoint: storage.outputs.tableEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    insightsConnectionString: monitoring.outputs.connectionString
    eventGridEndpoint: topic.outputs.endpoint
    eventTypePrefix: eventTypePrefix
    settings: settings
  }
}

module appSubscription 'modules/eventgrid.bicep' = if (afterPublish) {
  name: 'eventgrid-subscription'
  params: {
    location: location
    namePrefix: namePrefix
    tags: tags
    storageAccountId: storage.outputs.accountId
    deadLetterContainer: storage.outputs.deadLetterContainer
    functionAppId: app.outputs.siteId
    notificationQueueName: notificationQueueName
    eventTypePrefix: eventTypePrefix
  }
}

// Each HTTP function gets its role's key, and only that (a host key would open every function: the
// approve route to whoever holds AWS's key). Created after publishing, once the functions exist and
// the identity can write the host's key store (shared keys are off, so the host keeps keys in
// storage through the identity). The list is shared/app/roles.py's ROLE_OF_FUNCTION (a test checks).
var functionRoles = [
  { function: 'fleet_status', role: 'reader' }
  { function: 'fleet_view', role: 'reader' }
  { function: 'dashboard', role: 'reader' }
  { function: 'migration_status', role: 'reader' }
  { function: 'assessments', role: 'reader' }
  { function: 'migration_command', role: 'operator' }
  { function: 'wave_command', role: 'operator' }
  { function: 'ec2_events', role: 'eventbridge' }
  { function: 'asr_alerts', role: 'alerts' }
]
var roleKeys = {
  reader: readerKey
  operator: operatorKey
  eventbridge: ec2EventsKey
  alerts: alertsKey
}

module functionKeys 'modules/function-key.bicep' = [for f in functionRoles: if (afterPublish) {
  name: 'function-key-${f.function}'
  params: {
    siteName: app.outputs.siteName
    functionName: f.function
    keyName: f.role
    keyValue: roleKeys[f.role]
  }
  dependsOn: [
    localRoles
  ]
}]

// The app's identity, in this resource group.
module localRoles 'modules/local-roles.bicep' = {
  name: 'local-roles'
  params: {
    appPrincipalId: app.outputs.principalId
    topicPrincipalId: topic.outputs.principalId
    storageAccountName: storage.outputs.accountName
    topicName: topic.outputs.topicName
    deadLetterContainer: storage.outputs.deadLetterContainer
    keyVaultName: keyVault.outputs.vaultName
    insightsName: '${namePrefix}-insights'
    roles: roles
  }
}

// The vault, the target resource group and the networks may live elsewhere.
module vaultAccess 'modules/role.bicep' = {
  name: 'vault-site-recovery-contributor'
  scope: resourceGroup(vaultParts[2], vaultParts[4])
  params: {
    principalId: app.outputs.principalId
    roleId: roles.siteRecoveryContributor
    scopeKind: 'vault'
    resourceId: asrVaultId
  }
}

// The simplified appliance's discovered servers live under Microsoft.OffAzure in the project's group.
module projectRead 'modules/role.bicep' = {
  name: 'migrate-project-reader'
  scope: resourceGroup(split(migrateProjectResourceGroupId, '/')[2], split(migrateProjectResourceGroupId, '/')[4])
  params: {
    principalId: app.outputs.principalId
    roleId: roles.reader
  }
}

module cacheKeys 'modules/role.bicep' = if (asrProvider == 'InMageAzureV2') {
  name: 'cache-storage-key-operator'
  params: {
    principalId: app.outputs.principalId
    roleId: roles.storageAccountKeyOperator
    scopeKind: 'storageAccount'
    resourceId: cache.outputs.accountId
  }
}

module targetGroupRead 'modules/role.bicep' = {
  name: 'target-group-reader'
  scope: resourceGroup(split(targetResourceGroupId, '/')[2], split(targetResourceGroupId, '/')[4])
  params: {
    principalId: app.outputs.principalId
    roleId: roles.reader
  }
}

module targetGroupTestVms 'modules/role.bicep' = {
  name: 'target-group-vm-contributor'
  scope: resourceGroup(split(targetResourceGroupId, '/')[2], split(targetResourceGroupId, '/')[4])
  params: {
    principalId: app.outputs.principalId
    roleId: roles.virtualMachineContributor
  }
}

module targetNetworkRead 'modules/role.bicep' = {
  name: 'target-network-reader'
  scope: resourceGroup(split(targetNetworkId, '/')[2], split(targetNetworkId, '/')[4])
  params: {
    principalId: app.outputs.principalId
    roleId: roles.reader
    scopeKind: 'virtualNetwork'
    resourceId: targetNetworkId
  }
}

module testNetworkRead 'modules/role.bicep' = {
  name: 'test-network-reader'
  scope: resourceGroup(split(testNetworkId, '/')[2], split(testNetworkId, '/')[4])
  params: {
    principalId: app.outputs.principalId
    roleId: roles.reader
    scopeKind: 'virtualNetwork'
    resourceId: testNetworkId
  }
}

@description('The URL AWS EventBridge delivers to (infra/aws/region.yaml EventsEndpoint).')
output ec2EventsUrl string = 'https://${app.outputs.hostName}/api/ec2-events'
@description('Where the eventbridge role\'s function key lives: copy it into AWS Secrets Manager (see infra/README.md).')
output ec2EventsKeySecretUri string = keyVault.outputs.functionKeySecretUri
@description('The Key Vault holding every role\'s function key (function-key-<role>; see README "Keys").')
output keyVaultName string = keyVault.outputs.vaultName
@description('The app identity: the subject AWS trusts (infra/aws/account.yaml AppPrincipalId).')
output appPrincipalId string = app.outputs.principalId
output tenantId string = tenant().tenantId
output functionAppName string = app.outputs.siteName
@description('Site Recovery\'s cache storage account (AZMIGRATE_LOG_STORAGE_ACCOUNT_ID), in targetLocation.')
output cacheStorageAccountId string = cache.outputs.accountId
