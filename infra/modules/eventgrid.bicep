// The topic the ASR job watcher publishes CloudEvents to, and (once the code is published) the app's
// Event Grid trigger subscribed to it, with dead letters kept in the storage account.
param location string
param namePrefix string
param tags object
param storageAccountId string
param deadLetterContainer string
@description('The function app; empty until the code is published (the subscription needs the function).')
param functionAppId string = ''

resource topic 'Microsoft.EventGrid/topics@2024-06-01-preview' = {
  // checkov:skip=CKV_AZURE_193: identity-only access over the public endpoint; a private-endpoint variant needs a VNet, which this template does not build (see infra/README.md); local (key) auth is disabled
  name: '${namePrefix}-asr-jobs'
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    minimumTlsVersionAllowed: '1.2'
  }
}

resource subscriptionToApp 'Microsoft.EventGrid/topics/eventSubscriptions@2024-06-01-preview' = if (!empty(functionAppId)) {
  parent: topic
  name: 'autopilot-asr-job-event'
  properties: {
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/asr_job_event'
        maxEventsPerBatch: 1
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storageAccountId
          blobContainerName: deadLetterContainer
        }
      }
    }
  }
}

output topicId string = topic.id
output topicName string = topic.name
output endpoint string = topic.properties.endpoint
output principalId string = topic.identity.principalId
