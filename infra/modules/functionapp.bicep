// The Function App on the Flex Consumption plan (Python 3.11) with a system-assigned identity.
// Every AZMIGRATE_* setting the code reads is set here, explicitly (a test keeps this list, the
// code and local.settings.sample.json in step). The timers read their schedules from app settings.
param location string
param namePrefix string
param tags object
param storageAccountName string
param packageContainerUrl string
param tableEndpoint string
@description('Queue endpoint of the same account: the work queue (the app role already holds Storage Queue Data Contributor there).')
param queueEndpoint string
param insightsConnectionString string
param eventGridEndpoint string
@description('Reverse-DNS prefix of the transition events\' types (AZMIGRATE_EVENT_TYPE_PREFIX).')
param eventTypePrefix string = 'com.migrationautopilot'
param settings object
@description('Always-ready instances for HTTP: EventBridge API destinations give up after 5 seconds, so a cold start on the first event of the day would be retried (and the event delayed).')
param alwaysReadyHttp int = 1

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption zone redundancy is not offered in every region; enable it where it is
  name: '${namePrefix}-plan'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: AWS EventBridge API destinations must reach POST /api/ec2-events over the internet
  // checkov:skip=CKV_AZURE_17: EventBridge cannot present a client certificate; every HTTP route needs a function key
  // checkov:skip=CKV_AZURE_212: Flex Consumption keeps alwaysReady HTTP instances (alwaysReadyHttp), not App Service minimum instances
  // checkov:skip=CKV_AZURE_213: App Service health checks do not apply to Flex Consumption function apps
  name: '${namePrefix}-app-${uniqueString(resourceGroup().id)}'
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: packageContainerUrl
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: 2048
        alwaysReady: [
          {
            name: 'http'
            instanceCount: alwaysReadyHttp
          }
        ]
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
        { name: 'AZMIGRATE_TABLE_CONNECTION', value: '' }
        { name: 'AZMIGRATE_TABLE_ACCOUNT_URL', value: tableEndpoint }
        { name: 'AZMIGRATE_QUEUE_ACCOUNT_URL', value: queueEndpoint }
        // The queue triggers' connection (identity-based): the same queue endpoint, as the host reads it.
        // AZMIGRATE_QUEUE_CONNECTION itself stays unset: the host would take it for a connection string.
        { name: 'AZMIGRATE_QUEUE_CONNECTION__queueServiceUri', value: queueEndpoint }
        { name: 'AZMIGRATE_WORK_QUEUE', value: 'azmigrate-work' }
        { name: 'AZMIGRATE_MANAGED_IDENTITY_CLIENT_ID', value: '' }
        { name: 'AZMIGRATE_TABLE_PREFIX', value: settings.tablePrefix }
        { name: 'AZMIGRATE_ASR_SUBSCRIPTION_ID', value: settings.asrSubscriptionId }
        { name: 'AZMIGRATE_ASR_RESOURCE_GROUP', value: settings.asrResourceGroup }
        { name: 'AZMIGRATE_ASR_VAULT_NAME', value: settings.asrVaultName }
        { name: 'AZMIGRATE_ASR_PROVIDER', value: settings.asrProvider }
        { name: 'AZMIGRATE_ASR_ENDPOINT', value: environment().resourceManager }
        { name: 'AZMIGRATE_AWS_ACCOUNTS', value: settings.awsAccounts }
        { name: 'AZMIGRATE_AWS_REGIONS', value: settings.awsRegions }
        { name: 'AZMIGRATE_AWS_ENDPOINT_URL', value: '' }
        { name: 'AZMIGRATE_AWS_ROLE_NAME', value: settings.awsRoleName }
        { name: 'AZMIGRATE_AWS_WEB_IDENTITY_AUDIENCE', value: settings.awsWebIdentityAudience }
        { name: 'AZMIGRATE_SSM_DOCUMENT_PREFIX', value: settings.ssmDocumentPrefix }
        { name: 'AZMIGRATE_TAG_PREFIX', value: settings.tagPrefix }
        { name: 'AZMIGRATE_TARGET_RESOURCE_GROUP_ID', value: settings.targetResourceGroupId }
        { name: 'AZMIGRATE_TARGET_NETWORK_ID', value: settings.targetNetworkId }
        { name: 'AZMIGRATE_TARGET_SUBNET_NAME', value: settings.targetSubnetName }
        { name: 'AZMIGRATE_TEST_NETWORK_ID', value: settings.testNetworkId }
        { name: 'AZMIGRATE_LOG_STORAGE_ACCOUNT_ID', value: settings.logStorageAccountId }
        { name: 'AZMIGRATE_BOOT_DIAGNOSTICS_STORAGE_ACCOUNT_ID', value: settings.bootDiagnosticsStorageAccountId }
        { name: 'AZMIGRATE_APPLIANCE_ADDRESS', value: settings.applianceAddress }
        { name: 'AZMIGRATE_APPLIANCE_PASSPHRASE_PARAMETER', value: settings.appliancePassphraseParameter }
        { name: 'AZMIGRATE_AGENT_INSTALLER_LINUX', value: settings.agentInstallerLinux }
        { name: 'AZMIGRATE_AGENT_INSTALLER_WINDOWS', value: settings.agentInstallerWindows }
        { name: 'AZMIGRATE_CUTOVER_MODE', value: settings.cutoverMode }
        { name: 'AZMIGRATE_CUTOVER_WINDOWS', value: settings.cutoverWindows }
        { name: 'AZMIGRATE_WAVE_CUTOVERS', value: settings.waveCutovers }
        { name: 'AZMIGRATE_DISCOVERY_TIMEOUT_SECONDS', value: '3600' }
        { name: 'AZMIGRATE_LEASE_SECONDS', value: '600' }
        { name: 'AZMIGRATE_DRY_RUN', value: settings.dryRun }
        { name: 'AZMIGRATE_TARGET_LOCATION', value: settings.targetLocation }
        { name: 'AZMIGRATE_SIZING_LOOKBACK_DAYS', value: '14' }
        { name: 'AZMIGRATE_SIZING_COMFORT_FACTOR', value: '1.3' }
        { name: 'AZMIGRATE_SIZING_MIN_COVERAGE', value: '0.5' }
        { name: 'AZMIGRATE_MEMORY_METRIC_NAMESPACE', value: 'CWAgent' }
        { name: 'AZMIGRATE_BLOCKED_RECHECK_MINUTES', value: '60' }
        { name: 'AZMIGRATE_STALL_MINUTES', value: '120' }
        { name: 'AZMIGRATE_RPO_WARNING_SECONDS', value: '1800' }
        { name: 'AZMIGRATE_TEST_VALIDATION_SECONDS', value: '1800' }
        { name: 'AZMIGRATE_SMOKE_COMMAND', value: '' }
        { name: 'AZMIGRATE_POLICY_HISTORY_MINUTES', value: '1440' }
        { name: 'AZMIGRATE_POLICY_CRASH_CONSISTENT_MINUTES', value: '5' }
        { name: 'AZMIGRATE_POLICY_APP_CONSISTENT_MINUTES', value: '0' }
        { name: 'AZMIGRATE_POLICY_MULTI_VM_SYNC', value: 'true' }
        { name: 'AZMIGRATE_AGENT_AUTO_UPGRADE', value: 'true' }
        { name: 'AZMIGRATE_JOB_WATCH_SCHEDULE', value: '0 */1 * * * *' }
        { name: 'AZMIGRATE_RECONCILE_SCHEDULE', value: '0 */5 * * * *' }
        { name: 'AZMIGRATE_NIGHTLY_SCHEDULE', value: '0 0 1 * * *' }
        { name: 'AZMIGRATE_MAX_CONCURRENCY', value: '8' }
        { name: 'AZMIGRATE_MAX_INITIAL_REPLICATION', value: settings.maxInitialReplication }
        { name: 'AZMIGRATE_ARM_WRITES_PER_SECOND', value: '5' }
        { name: 'AZMIGRATE_AWS_CALLS_PER_SECOND', value: '5' }
        { name: 'AZMIGRATE_RETRY_LIMIT', value: '3' }
        { name: 'AZMIGRATE_RETRY_BACKOFF_SECONDS', value: '300' }
        { name: 'AZMIGRATE_EVENTGRID_TOPIC_ENDPOINT', value: eventGridEndpoint }
        { name: 'AZMIGRATE_EVENTGRID_TOPIC_KEY', value: '' }
        { name: 'AZMIGRATE_EVENT_TYPE_PREFIX', value: eventTypePrefix }
        { name: 'AZMIGRATE_LOG_LEVEL', value: 'INFO' }
      ]
    }
  }
}

resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output siteId string = site.id
output siteName string = site.name
output hostName string = site.properties.defaultHostName
output principalId string = site.identity.principalId
